import { z } from 'zod';
import type { ModelMetadata } from '@tfpipe/pipeline';

/** One raw column a request record carries (as the training data had it). */
export interface RawColumn {
  name: string;
  kind: string;
  shape?: number[];
}

/** The zod schemas of one loaded run: a record, a request, a response; built from its metadata. */
export interface RunSchemas {
  /** The raw columns a record must have (the label columns excluded). */
  columns: RawColumn[];
  /** Label columns: accepted (so test rows can be sent as they are) and ignored. */
  labelColumns: string[];
  record: z.ZodType;
  /** `{ instances: [records] }`. */
  instances: z.ZodType;
  request: z.ZodType;
  prediction: z.ZodType;
  response: z.ZodType;
}

const PIXEL = z.number().min(0).max(255);

/** The schema of one raw column's value in a JSON request. */
export function columnValueSchema(c: RawColumn): z.ZodType {
  const size = (c.shape ?? []).reduce((a, b) => a * b, 1);
  switch (c.kind) {
    case 'number':
      // z.number() rejects NaN and ±Infinity; null is a missing value, as in the training data.
      return z.number().nullable().describe(`Column "${c.name}": a finite number (null = missing; impute it in preprocessing)`);
    case 'string':
      return z.string().nullable().describe(`Column "${c.name}": text (null = missing)`);
    case 'boolean':
      return z.boolean().nullable().describe(`Column "${c.name}": true or false (null = missing)`);
    case 'vector':
      return z.array(z.number()).length(size).describe(`Column "${c.name}": ${size} finite numbers`);
    case 'image': {
      const [h, w, ch] = c.shape ?? [];
      return z
        .union([
          z.string().min(1).describe('A PNG, JPEG, WebP, GIF or TIFF file as base64 (a data: URL is accepted too)'),
          z.array(PIXEL).length(size).describe(`Raw pixels, row-major HWC, ${h}x${w}x${ch} values in 0..255`),
        ])
        .describe(`Column "${c.name}": an image, resized to ${h}x${w}x${ch} like the training images`);
    }
    default:
      return z.unknown().describe(`Column "${c.name}" (${c.kind})`);
  }
}

/** Names of the label columns, read from the tensorizer's spec (`data.label`). */
export function labelNames(label: string | string[] | undefined): string[] {
  if (label === undefined) return [];
  return typeof label === 'string' ? [label] : label;
}

/** Builds the request/response schemas of a run from its metadata (raw columns and their kinds). */
export function buildRunSchemas(metadata: ModelMetadata, labels: string[], options: { maxInstances: number }): RunSchemas {
  const columns = metadata.rawColumns.filter((c) => !labels.includes(c.name));
  const shape: Record<string, z.ZodType> = {};
  for (const c of columns) shape[c.name] = columnValueSchema(c);
  for (const c of metadata.rawColumns.filter((col) => labels.includes(col.name))) {
    shape[c.name] = columnValueSchema(c).optional().describe(`Label column "${c.name}": optional, ignored`);
  }
  const record = z.object(shape).strict().describe(`One raw record of "${metadata.name}", as in the training data`);
  const instances = z
    .object({ instances: z.array(record).min(1).max(options.maxInstances).describe(`1 to ${options.maxInstances} records`) })
    .strict()
    .describe('Several records');
  const request = z
    .union([instances, record])
    .describe('One record, or { "instances": [records] }');
  const prediction = predictionSchema(metadata);
  const response = z
    .union([z.object({ prediction }).strict(), z.object({ predictions: z.array(prediction) }).strict()])
    .describe('{ prediction } for one record, { predictions } (same order) for instances');
  return { columns, labelColumns: labels, record, instances, request, prediction, response };
}

/** The output of one prediction, by task kind. */
function predictionSchema(metadata: ModelMetadata): z.ZodType {
  const probabilities = z.record(z.string(), z.number()).describe('Probability of each class, by label name');
  switch (metadata.task.kind) {
    case 'multiclass':
    case 'binary':
      return z
        .object({
          label: z.string().describe('The predicted class name'),
          class: z.number().int().describe('Its index in the class list'),
          probabilities,
        })
        .strict();
    case 'multilabel':
      return z.object({ labels: z.array(z.string()).describe('Classes with probability >= 0.5'), probabilities }).strict();
    case 'regression':
      return z.object({ value: z.union([z.number(), z.array(z.number())]).describe('The predicted value(s)') }).strict();
  }
}

import { z } from 'zod';
import type { ColumnInfo, ColumnKind } from './types.js';

const imageFitSchema = z
  .enum(['fill', 'cover', 'contain'])
  .default('fill')
  .describe('How an image is resized to the declared shape (sharp `fit`): fill stretches, cover crops, contain pads with black');

export const imageColumnSchema = z
  .object({
    type: z.literal('image'),
    shape: z
      .tuple([z.number().int().positive(), z.number().int().positive(), z.union([z.literal(1), z.literal(3)])])
      .describe('[height, width, channels]; channels 1 = grayscale, 3 = RGB'),
    fit: imageFitSchema,
  })
  .strict()
  .describe('A column of image file paths (relative to the data file) decoded with sharp into Float32Array 0..255');

export const vectorColumnSchema = z
  .object({
    type: z.literal('vector'),
    shape: z.tuple([z.number().int().positive()]).describe('[length]'),
    separator: z.string().min(1).default(' ').describe('Between numbers when the vector is written in one text field'),
  })
  .strict()
  .describe('A fixed-length vector of numbers: a JSON array, or numbers separated by `separator` in a text field');

/** A declared column type: a kind name, or an object for vectors and images. */
export const columnTypeSchema = z.union([
  z.enum(['number', 'string', 'boolean']),
  vectorColumnSchema,
  imageColumnSchema,
]);
export type ColumnType = z.infer<typeof columnTypeSchema>;

export const DEFAULT_MISSING = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?'];

/** Options every source shares. */
export const commonSourceShape = {
  limit: z.number().int().positive().optional().describe('Read only the first `limit` rows (after skipped ones)'),
  onError: z
    .enum(['fail', 'skip'])
    .default('fail')
    .describe('A bad row (wrong field count, unparsable value, unreadable image): stop with an error, or skip and count it'),
  maxSkipped: z
    .number()
    .min(0)
    .refine((n) => Number.isInteger(n) || n < 1, { message: 'a whole number of rows, or a fraction of the rows between 0 and 1' })
    .optional()
    .describe('With onError: skip, fail the run when more rows are skipped than this: a count (an integer), or a fraction of the rows read (0 < x < 1)'),
  select: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Keep only these columns, in this order (all columns when absent)'),
};

/** Options of the record formats (CSV, TSV, JSONL, JSON). */
export const recordSourceShape = {
  ...commonSourceShape,
  path: z.string().min(1).describe('The file; relative to the config folder, or npm:<package>/<file>'),
  types: z
    .record(z.string(), columnTypeSchema)
    .default({})
    .describe('Declared column types by name; other columns are inferred from the first `inferRows` rows'),
  inferRows: z.number().int().positive().default(1000).describe('Rows read up front to infer undeclared column types'),
  missing: z
    .array(z.string())
    .default(DEFAULT_MISSING)
    .describe('Field texts read as a missing value (null)'),
};

// Strict decimal syntax: Number() also takes '', ' ', '0x1f', 'Infinity', which are not numbers in a data file.
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a field holds, or undefined when it is not a plain decimal number. */
export function parseNumber(s: string): number | undefined {
  const t = s.length > 0 && (s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32) ? s.trim() : s;
  return NUMBER_RE.test(t) ? Number(t) : undefined;
}

export function parseBoolean(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return undefined;
}

/** The kind a set of sample values shows: number if all parse, then boolean, else string. */
export function inferTextKind(samples: readonly string[]): 'number' | 'boolean' | 'string' {
  return inferTextColumn(samples).kind;
}

/**
 * The kind of a text column from samples, and the samples that do not fit it. A column of numbers with a
 * stray cell (`abc` among numbers: at most 1 in 20 of the samples, and at least 4 numbers for each odd one)
 * is numeric, and its odd cells become bad rows named by line, column and value, rather than the whole
 * column turning into text. Anything more mixed is text.
 */
export function inferTextColumn(samples: readonly string[]): { kind: 'number' | 'boolean' | 'string'; odd: string[] } {
  if (samples.length === 0) return { kind: 'string', odd: [] };
  const odd = samples.filter((s) => parseNumber(s) === undefined);
  if (odd.length === 0) return { kind: 'number', odd };
  if (odd.length <= Math.max(1, Math.floor(samples.length / 20)) && samples.length - odd.length >= 4 * odd.length) return { kind: 'number', odd };
  if (samples.every((s) => parseBoolean(s) !== undefined)) return { kind: 'boolean', odd: [] };
  return { kind: 'string', odd: [] };
}

export function columnInfo(name: string, type: ColumnType): ColumnInfo {
  if (typeof type === 'string') return { name, kind: type };
  return { name, kind: type.type as ColumnKind, shape: [...type.shape] };
}

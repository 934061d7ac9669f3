import { z } from 'zod';
import { BACKEND_REQUESTS } from '@tfpipe/core';
import { sourceSchemaFor, splitSchemaFor } from '@tfpipe/data';
import { featuresSchema, preprocessSchemaFor } from '@tfpipe/preprocess';
import { modelSchemaFor } from '@tfpipe/models';
import { trainSchema as baseTrainSchema } from '@tfpipe/trainer';
import { evaluateSchema as baseEvaluateSchema } from '@tfpipe/evaluate';
import { adversarialSchema, finetuneSchema } from '@tfpipe/finetune';
import { explainSchema } from '@tfpipe/explain';
import { createPipelineRegistries, type PipelineRegistries } from './config/registries.js';
import { trackingSchema } from './run/mlflow.js';

/** `train:` plus adversarial training (the fine-tuning package's perturbation hook). */
export const trainSchema = baseTrainSchema.extend({
  adversarial: adversarialSchema.optional().describe('Adversarial training: replace a share of each batch by attacked examples (fgsm | pgd).'),
});
/** `evaluate:` plus robust accuracy under an attack, beside clean accuracy. */
export const evaluateSchema = baseEvaluateSchema.extend({
  robust: adversarialSchema.optional().describe('Also report accuracy on test examples attacked with this attack (robust accuracy).'),
});

/** Keeps the rows whose column passes every condition (e.g. MNIST digits 0-4 only). */
export const rowFilterSchema = z
  .object({
    column: z.string().min(1).describe('The column the condition reads.'),
    in: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional().describe('Keep rows whose value is one of these.'),
    notIn: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional().describe('Drop rows whose value is one of these.'),
    min: z.number().optional().describe('Keep rows whose (numeric) value is >= min.'),
    max: z.number().optional().describe('Keep rows whose (numeric) value is <= max.'),
    notMissing: z.boolean().optional().describe('true: drop rows whose value is missing (null or NaN), e.g. unlabelled rows.'),
  })
  .strict();
export type RowFilter = z.output<typeof rowFilterSchema>;

export const outputSchema = z
  .object({
    dir: z.string().default('runs').describe('Folder under which run directories are created (relative to the working directory).'),
  })
  .strict();

/** `data:` for the sources of a registry: where rows come from, how they split, and which columns feed the model. */
function dataSchemaFor(registries: PipelineRegistries) {
  const source = sourceSchemaFor(registries.sources);
  return z
    .object({
      source: source.describe('Where the rows come from; `type` picks the reader.'),
      split: splitSchemaFor(source).optional().describe('How the rows are divided into train / validation / test (test may be a separate source).'),
      filter: z.array(rowFilterSchema).default([]).describe('Row conditions applied to the source (and a separate test source) before splitting.'),
      shuffleBuffer: z.number().int().min(0).default(10_000).describe('Rows held by the seeded shuffle buffer of the training split (0: no shuffling).'),
      ...featuresSchema.shape,
    })
    .strict();
}

/**
 * The whole pipeline, composed from the schemas that live beside the code they configure; `model:`,
 * `data.source` and `preprocess:` are unions over what the registries hold, so registered types validate.
 */
export function pipelineSchemaFor(registries: PipelineRegistries) {
  return z
    .object({
      $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
      name: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"').describe('Names the run directory.'),
      description: z.string().optional(),
      plugins: z
        .array(z.string().min(1))
        .default([])
        .describe('Modules (paths relative to this file) whose default export registers models, data sources and transforms: ({ models, sources, transforms }) => void.'),
      seed: z.number().int().min(0).default(42).describe('Seeds splits, shuffling, initializers and dropout.'),
      backend: z.enum(BACKEND_REQUESTS as unknown as [string, ...string[]]).default('auto').describe('auto tries tensorflow-gpu, tensorflow, wasm, cpu.'),
      data: dataSchemaFor(registries),
      preprocess: preprocessSchemaFor(registries.transforms).default([]).describe('Transforms fitted on the training split only, saved with the model.'),
      model: modelSchemaFor(registries.models).optional().describe('The model to build; not used when finetune: starts from a base model.'),
      finetune: finetuneSchema.optional().describe('Start from a trained model (a run directory or a TF.js model folder): freeze, new head, LoRA, stages.'),
      train: trainSchema.default(trainSchema.parse({})),
      evaluate: evaluateSchema.default(evaluateSchema.parse({})),
      explain: explainSchema.optional().describe('Explanations on the test split, in explanation.json and the report (see @tfpipe/explain).'),
      output: outputSchema.default({ dir: 'runs' }),
      tracking: trackingSchema.optional().describe('Where else to record the run (MLflow).'),
      sweep: z.unknown().optional().describe('Hyper-parameter sweep; see @tfpipe/distributed.'),
    })
    .strict();
}

/** The pipeline schema of the built-in types. */
export const pipelineSchema = pipelineSchemaFor(createPipelineRegistries());
/** `data:` of the built-in source types. */
export const dataSchema = pipelineSchema.shape.data;

export type PipelineConfig = z.output<typeof pipelineSchema>;
export type PipelineInput = z.input<typeof pipelineSchema>;

type Json = Record<string, unknown>;

/** Keys whose values are subschemas (or lists / maps of them) in a JSON Schema. */
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const;
const SUBSCHEMA_ONE = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames'] as const;
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs'] as const;

/**
 * A schema for a file that extends a preset: nothing is required (the preset may give it), every key may be
 * `null` (which removes the preset's value: `model: null`, `lora: null`), and a union's branches may overlap
 * (`source: { limit: 1000 }` without its `type`), so `oneOf` becomes `anyOf`.
 */
function relaxed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relaxed);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'required') continue;
    if (k === 'oneOf') out.anyOf = relaxed(v);
    else if ((SUBSCHEMA_LISTS as readonly string[]).includes(k) || (SUBSCHEMA_ONE as readonly string[]).includes(k)) out[k] = relaxed(v);
    else if ((SUBSCHEMA_MAPS as readonly string[]).includes(k) && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, sub]) => [name, k === 'properties' ? { anyOf: [relaxed(sub), { type: 'null' }] } : relaxed(sub)]));
    } else out[k] = v;
  }
  return out;
}

/**
 * JSON Schema for editors (yaml-language-server), draft 2020-12. Describes the input: defaults are optional
 * there. A config file may be a preset (no `name:` of its own) or extend one (`extends:`), so the top-level
 * keys are not required, and a file with `extends:` is checked as a partial config only (see `relaxed`). Built
 * from `registries` when given, so registered types appear in it; `sections` adds schemas of sections this
 * package does not own (the CLI adds `sweep:`).
 */
export function pipelineJsonSchema(registries?: PipelineRegistries, options: { sections?: Record<string, z.ZodType> } = {}): Record<string, unknown> {
  const toJson = (s: z.ZodType): Json => {
    const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
    return rest;
  };
  const { required: _required, ...body } = toJson(registries ? pipelineSchemaFor(registries) : pipelineSchema);
  const properties = body.properties as Json;
  for (const [k, s] of Object.entries(options.sections ?? {})) properties[k] = toJson(s);
  properties.extends = {
    description: 'Presets this file builds on: a name looked up in a configs/ folder above this file, or a path starting with ./ (or a list of them, merged in order).',
    anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 } }],
  };
  // Every file must be a valid partial config; one without `extends:` must also be complete below the top level.
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://tfpipe.dev/schema/pipeline.json',
    title: 'tfpipe pipeline',
    ...(relaxed(body) as Json),
    if: { required: ['extends'] },
    else: body,
  };
}

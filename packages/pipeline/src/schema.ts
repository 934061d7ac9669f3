import { z } from 'zod';
import { BACKEND_REQUESTS } from '@tfpipe/core';
import { sourceSchema, splitSchema } from '@tfpipe/data';
import { featuresSchema, preprocessSchema } from '@tfpipe/preprocess';
import { modelSchema } from '@tfpipe/models';
import { trainSchema as baseTrainSchema } from '@tfpipe/trainer';
import { evaluateSchema as baseEvaluateSchema } from '@tfpipe/evaluate';
import { adversarialSchema, finetuneSchema } from '@tfpipe/finetune';
import { explainSchema } from '@tfpipe/explain';
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

/** `data:`: where rows come from, how they split, and which columns feed the model. */
export const dataSchema = z
  .object({
    source: sourceSchema.describe('Where the rows come from; `type` picks the reader.'),
    split: splitSchema.optional().describe('How the rows are divided into train / validation / test (test may be a separate source).'),
    filter: z.array(rowFilterSchema).default([]).describe('Row conditions applied to the source (and a separate test source) before splitting.'),
    shuffleBuffer: z.number().int().min(0).default(10_000).describe('Rows held by the seeded shuffle buffer of the training split (0: no shuffling).'),
    ...featuresSchema.shape,
  })
  .strict();

export const outputSchema = z
  .object({
    dir: z.string().default('runs').describe('Folder under which run directories are created (relative to the working directory).'),
  })
  .strict();

/** The whole pipeline, composed from the schemas that live beside the code they configure. */
export const pipelineSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
    name: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"').describe('Names the run directory.'),
    description: z.string().optional(),
    seed: z.number().int().min(0).default(42).describe('Seeds splits, shuffling, initializers and dropout.'),
    backend: z.enum(BACKEND_REQUESTS as unknown as [string, ...string[]]).default('auto').describe('auto tries tensorflow-gpu, tensorflow, wasm, cpu.'),
    data: dataSchema,
    preprocess: preprocessSchema.default([]).describe('Transforms fitted on the training split only, saved with the model.'),
    model: modelSchema.optional().describe('The model to build; not used when finetune: starts from a base model.'),
    finetune: finetuneSchema.optional().describe('Start from a trained model (a run directory or a TF.js model folder): freeze, new head, LoRA, stages.'),
    train: trainSchema.default(trainSchema.parse({})),
    evaluate: evaluateSchema.default(evaluateSchema.parse({})),
    explain: explainSchema.optional().describe('Explanations on the test split, in explanation.json and the report (see @tfpipe/explain).'),
    output: outputSchema.default({ dir: 'runs' }),
    tracking: trackingSchema.optional().describe('Where else to record the run (MLflow).'),
    sweep: z.unknown().optional().describe('Hyper-parameter sweep; see @tfpipe/distributed.'),
  })
  .strict();

export type PipelineConfig = z.output<typeof pipelineSchema>;
export type PipelineInput = z.input<typeof pipelineSchema>;

/** JSON Schema for editors (yaml-language-server). Describes the input: defaults are optional there. */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'tfpipe pipeline', $id: 'https://tfpipe.dev/schema/pipeline.json' };
}

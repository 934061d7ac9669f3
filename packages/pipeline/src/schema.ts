import { z } from 'zod';
import { BACKEND_REQUESTS } from '@tfpipe/core';
import { sourceSchema, splitSchema } from '@tfpipe/data';
import { featuresSchema, preprocessSchema } from '@tfpipe/preprocess';
import { modelSchema } from '@tfpipe/models';
import { trainSchema } from '@tfpipe/trainer';
import { evaluateSchema } from '@tfpipe/evaluate';

/** `data:`: where rows come from, how they split, and which columns feed the model. */
export const dataSchema = z
  .object({
    source: sourceSchema.describe('Where the rows come from; `type` picks the reader.'),
    split: splitSchema.optional().describe('How the rows are divided into train / validation / test (test may be a separate source).'),
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
    model: modelSchema,
    train: trainSchema.default(trainSchema.parse({})),
    evaluate: evaluateSchema.default(evaluateSchema.parse({})),
    output: outputSchema.default({ dir: 'runs' }),
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

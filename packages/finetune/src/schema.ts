import { parseSection, } from '@tfpipe/core';
import { z } from 'zod';
import { freezeSpecSchema } from './freeze.js';
import { finetuneHeadSchema } from './head.js';
import { layerLearningRatesSchema } from './layer-lr.js';
import { loraSchema } from './lora/apply.js';
import { stageSchema } from './stages.js';

/** The `finetune:` section of a pipeline. */
export const finetuneSchema = z
  .object({
    base: z.string().min(1).describe('The model to start from: a tfpipe run directory, a model folder, or a TF.js layers model.json'),
    freeze: freezeSpecSchema.optional(),
    exclude: z.array(z.string().min(1)).default([]).describe('Patterns of layers that `freeze` leaves trainable'),
    head: finetuneHeadSchema.optional(),
    lora: loraSchema.optional(),
    stages: z.array(stageSchema).min(1).optional().describe('Staged schedule (default: one stage of train.epochs)'),
    layerLearningRates: layerLearningRatesSchema,
    batchNorm: z
      .enum(['follow', 'frozen'])
      .default('follow')
      .describe('"follow": batch-norm layers freeze and unfreeze with the rest (frozen = inference mode); "frozen": always frozen'),
    adapters: z.string().min(1).optional().describe('A folder of saved LoRA adapters (adapters.json + adapters.bin) to put on the base'),
  })
  .strict()
  .describe('Fine-tuning: start from a trained model');
export type FinetuneConfig = z.infer<typeof finetuneSchema>;
export type FinetuneConfigInput = z.input<typeof finetuneSchema>;

/** Parses the `finetune:` section; zod problems become one E_CONFIG error with paths under `finetune`. */
export function parseFinetuneConfig(input: unknown): FinetuneConfig {
  return parseSection(finetuneSchema, input, ['finetune']);
}

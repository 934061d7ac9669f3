import { createRegistry } from '@tfpipe/core';
import { z } from 'zod';
import type { ModelRegistry } from './_common.js';
import type { ModelBuilder } from './builder.js';
import { cnnBuilder, cnnSchema } from './cnn.js';
import { fusionBuilder, fusionSchema } from './fusion.js';
import { layersBuilder, layersSchema } from './layers-list.js';
import { linearBuilder, linearSchema } from './linear.js';
import { logisticBuilder, logisticSchema } from './logistic.js';
import { mlpBuilder, mlpSchema } from './mlp.js';
import { rnnBuilder, rnnSchema } from './rnn.js';
import { transformerBuilder, transformerSchema } from './transformer.js';

/** The built-in model configs, discriminated by `type`. Custom types live in a registry (see createModelRegistry). */
export const modelSchema = z
  .discriminatedUnion('type', [
    logisticSchema,
    mlpSchema,
    cnnSchema,
    rnnSchema,
    transformerSchema,
    layersSchema,
    fusionSchema,
    linearSchema,
  ])
  .describe('The model: a built-in type or one registered from TypeScript');
export type ModelConfig = z.infer<typeof modelSchema>;

export const BUILTIN_MODELS: readonly ModelBuilder[] = [
  logisticBuilder,
  mlpBuilder,
  cnnBuilder,
  rnnBuilder,
  transformerBuilder,
  layersBuilder,
  fusionBuilder,
  linearBuilder,
];

/** A fresh registry of model builders holding the built-ins; register your own with `register({ type, schema, build | encode })`. */
export function createModelRegistry(): ModelRegistry {
  return createRegistry<ModelBuilder>('model', BUILTIN_MODELS);
}

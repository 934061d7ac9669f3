import { createRegistry, registrySchema } from '@tfpipe/core';
import type { z } from 'zod';
import type { ModelRegistry } from './_common.js';
import type { ModelBuilder } from './builder.js';
import { cnnBuilder } from './cnn.js';
import { fusionBuilder } from './fusion.js';
import { layersBuilder } from './layers-list.js';
import { linearBuilder } from './linear.js';
import { logisticBuilder } from './logistic.js';
import { mlpBuilder } from './mlp.js';
import { rnnBuilder } from './rnn.js';
import { transformerBuilder } from './transformer.js';

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

/**
 * The `model:` schema of a registry: a union discriminated on `type` over every registered builder, so a
 * type registered from TypeScript validates in the YAML and appears in the editor's JSON Schema.
 */
export function modelSchemaFor(registry: ModelRegistry) {
  return registrySchema(registry, 'The model: a built-in type or one registered from TypeScript');
}

/** The `model:` schema of the built-in types (what `createModelRegistry()` holds). */
export const modelSchema = modelSchemaFor(createModelRegistry());
export type ModelConfig = z.infer<typeof modelSchema>;

import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import {
  activationSchema,
  type EncodeContext,
  flattenIfNeeded,
  initializerSchema,
  kernelOptions,
  regularizationSchema,
  shapeError,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import { dropout, outputSchema } from './heads.js';

const mlpLayerSchema = z
  .object({
    units: z.number().int().positive().describe('Units of this dense layer'),
    activation: activationSchema.optional().describe("Activation (default: the model's)"),
    dropout: z.number().min(0).max(1).optional().describe("Dropout after this layer (default: the model's)"),
    batchNorm: z
      .boolean()
      .optional()
      .describe("Batch normalization before the activation (default: the model's)"),
    kernelInitializer: initializerSchema.optional(),
    regularization: regularizationSchema.optional(),
  })
  .strict();

export const mlpSchema = z
  .object({
    type: z.literal('mlp'),
    units: z
      .array(z.union([z.number().int().positive(), mlpLayerSchema]))
      .default([64])
      .describe(
        'Hidden layers: units per layer, or { units, activation, dropout, batchNorm, kernelInitializer, regularization } for one layer',
      ),
    activation: activationSchema.default('relu').describe('Activation of hidden layers'),
    dropout: z.number().min(0).max(1).default(0).describe('Dropout after each hidden layer'),
    inputDropout: z.number().min(0).max(1).default(0).describe('Dropout on the inputs'),
    batchNorm: z.boolean().default(false).describe('Batch normalization before each hidden activation'),
    output: outputSchema.optional().describe('Output layer overrides'),
    ...weightOptionsShape,
  })
  .strict()
  .describe('Multi-layer perceptron on (flattened) numeric features');
export type MlpConfig = z.infer<typeof mlpSchema>;

function encode(config: MlpConfig, input: tfl.SymbolicTensor, ctx: EncodeContext): tfl.SymbolicTensor {
  if (ctx.spec.kind === 'text') {
    throw shapeError(
      ctx,
      'an mlp needs numeric features; token ids need an embedding',
      'an image, tabular or sequence input (use rnn, cnn or transformer for text)',
    );
  }
  let x = dropout(flattenIfNeeded(input, ctx), config.inputDropout, ctx);
  for (const entry of config.units) {
    const layer = typeof entry === 'number' ? { units: entry } : entry;
    const activation = layer.activation ?? config.activation;
    const batchNorm = layer.batchNorm ?? config.batchNorm;
    x = tfl.layers
      .dense({
        units: layer.units,
        activation: batchNorm ? 'linear' : activation,
        ...kernelOptions(ctx, layer),
        name: ctx.layerName('dense'),
      })
      .apply(x) as tfl.SymbolicTensor;
    if (batchNorm) {
      x = tfl.layers.batchNormalization({ name: ctx.layerName('bn') }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.activation({ activation, name: ctx.layerName('act') }).apply(x) as tfl.SymbolicTensor;
    }
    x = dropout(x, layer.dropout ?? config.dropout, ctx);
  }
  return x;
}

export const mlpBuilder: ModelBuilder<MlpConfig> = {
  type: 'mlp',
  schema: mlpSchema,
  description: 'Multi-layer perceptron',
  encode: (config, input, ctx) => encode(config, input, ctx),
  build: (config, ctx) => assemble(config, ctx, 'mlp', encode),
};

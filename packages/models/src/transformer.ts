import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import {
  activationSchema,
  type EncodeContext,
  kernelOptions,
  shapeError,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import { dropout, HEAD_DEFAULT, headSchema, outputSchema } from './heads.js';
import { MultiHeadSelfAttention } from './layers/attention.js';
import { TokenAndPositionEmbedding } from './layers/embedding.js';
import { MaskedSequencePooling } from './layers/pooling.js';

export const transformerSchema = z
  .object({
    type: z.literal('transformer'),
    embedDim: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe('Model width (token + position embedding size)'),
    numHeads: z.number().int().positive().default(2).describe('Attention heads; embedDim must divide by it'),
    ffDim: z.number().int().positive().default(64).describe('Hidden units of each feed-forward block'),
    ffActivation: activationSchema.default('relu').describe('Activation of the feed-forward hidden layer'),
    blocks: z.number().int().positive().default(2).describe('Number of encoder blocks'),
    dropout: z.number().min(0).max(1).default(0.1).describe('Dropout on attention and feed-forward outputs'),
    epsilon: z.number().positive().default(1e-6).describe('Layer normalization epsilon'),
    pooling: z
      .enum(['mean', 'max', 'first'])
      .default('mean')
      .describe('Sequence → vector: masked mean / max over real tokens, or the first token'),
    head: headSchema.default(HEAD_DEFAULT).describe('Hidden dense layers before the output'),
    output: outputSchema.optional().describe('Output layer overrides'),
    ...weightOptionsShape,
  })
  .strict()
  .superRefine((c, z2) => {
    if (c.embedDim % c.numHeads !== 0) {
      z2.addIssue({
        code: 'custom',
        path: ['numHeads'],
        message: `embedDim ${c.embedDim} must be divisible by numHeads ${c.numHeads}`,
        input: c.numHeads,
      });
    }
  })
  .describe(
    'Transformer encoder over token ids (token id 0 is padding, masked out of attention and pooling)',
  );
export type TransformerConfig = z.infer<typeof transformerSchema>;

function encode(
  config: TransformerConfig,
  input: tfl.SymbolicTensor,
  ctx: EncodeContext,
): tfl.SymbolicTensor {
  const { spec } = ctx;
  if (spec.kind !== 'text' || spec.shape.length !== 1) {
    throw shapeError(
      ctx,
      'a transformer needs text token ids',
      'a text input of shape [length] with vocabSize',
    );
  }
  if (!spec.vocabSize)
    throw shapeError(ctx, 'a text input needs vocabSize for the embedding', 'an InputSpec with vocabSize');
  const ids = input;
  let x = new TokenAndPositionEmbedding({
    vocabSize: spec.vocabSize,
    maxLen: spec.shape[0]!,
    embedDim: config.embedDim,
    seed: ctx.nextSeed(),
    name: ctx.layerName('token_position_embedding'),
  }).apply(ids) as tfl.SymbolicTensor;
  for (let b = 0; b < config.blocks; b++) {
    const attention = new MultiHeadSelfAttention({
      numHeads: config.numHeads,
      keyDim: config.embedDim / config.numHeads,
      seed: ctx.nextSeed(),
      ...(ctx.defaults.kernelInitializer ? { kernelInitializer: ctx.defaults.kernelInitializer } : {}),
      ...(ctx.defaults.regularization ? { regularization: ctx.defaults.regularization } : {}),
      name: ctx.layerName('self_attention'),
    }).apply([x, ids]) as tfl.SymbolicTensor;
    let a = dropout(attention, config.dropout, ctx);
    x = tfl.layers.add({ name: ctx.layerName('residual') }).apply([x, a]) as tfl.SymbolicTensor;
    x = tfl.layers
      .layerNormalization({ epsilon: config.epsilon, name: ctx.layerName('layer_norm') })
      .apply(x) as tfl.SymbolicTensor;
    a = tfl.layers
      .dense({
        units: config.ffDim,
        activation: config.ffActivation,
        ...kernelOptions(ctx),
        name: ctx.layerName('ff_dense'),
      })
      .apply(x) as tfl.SymbolicTensor;
    a = tfl.layers
      .dense({ units: config.embedDim, ...kernelOptions(ctx), name: ctx.layerName('ff_dense') })
      .apply(a) as tfl.SymbolicTensor;
    a = dropout(a, config.dropout, ctx);
    x = tfl.layers.add({ name: ctx.layerName('residual') }).apply([x, a]) as tfl.SymbolicTensor;
    x = tfl.layers
      .layerNormalization({ epsilon: config.epsilon, name: ctx.layerName('layer_norm') })
      .apply(x) as tfl.SymbolicTensor;
  }
  return new MaskedSequencePooling({
    mode: config.pooling,
    name: ctx.layerName(`pool_${config.pooling}`),
  }).apply([x, ids]) as tfl.SymbolicTensor;
}

export const transformerBuilder: ModelBuilder<TransformerConfig> = {
  type: 'transformer',
  schema: transformerSchema,
  description: 'Transformer encoder with token + position embedding and masked multi-head self-attention',
  encode,
  build: (config, ctx) => assemble(config, ctx, 'transformer', encode),
};

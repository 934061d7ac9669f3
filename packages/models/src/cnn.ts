import * as tfl from '@tensorflow/tfjs-layers';
import { formatPath, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import {
  activationSchema,
  type EncodeContext,
  initializerSchema,
  kernelOptions,
  makeInitializer,
  regularizationSchema,
  shapeError,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import { dropout, HEAD_DEFAULT, headSchema, outputSchema } from './heads.js';

export const convBlockSchema = z
  .object({
    filters: z.number().int().positive().describe('Number of filters'),
    kernelSize: z.number().int().positive().default(3).describe('Kernel size (square in 2-D)'),
    strides: z.number().int().positive().default(1).describe('Stride'),
    padding: z.enum(['same', 'valid']).default('same').describe('Padding'),
    activation: activationSchema.default('relu').describe('Activation'),
    convs: z.number().int().positive().default(1).describe('Convolutions in this block before pooling'),
    batchNorm: z
      .boolean()
      .default(false)
      .describe('Batch normalization after each convolution, before the activation'),
    pooling: z.enum(['max', 'avg', 'none']).default('max').describe('Pooling at the end of the block'),
    poolSize: z.number().int().positive().default(2).describe('Pooling window and stride'),
    dropout: z.number().min(0).max(1).default(0).describe('Dropout at the end of the block'),
    kernelInitializer: initializerSchema.optional(),
    regularization: regularizationSchema.optional(),
  })
  .strict();
export type ConvBlockConfig = z.infer<typeof convBlockSchema>;

export const cnnSchema = z
  .object({
    type: z.literal('cnn'),
    dims: z
      .union([z.literal(1), z.literal(2), z.literal('auto')])
      .default('auto')
      .describe(
        '1 (sequences, text) or 2 (images); auto: 2 for [h, w, c] inputs, 1 for [steps, channels] and text',
      ),
    embedding: z
      .object({ dim: z.number().int().positive().default(32).describe('Embedding width') })
      .strict()
      .default({ dim: 32 })
      .describe('Token embedding for text inputs'),
    blocks: z
      .array(convBlockSchema)
      .min(1)
      // Two blocks of 32 and 64 filters, every other option at the block schema's own default.
      .default([32, 64].map((filters) => convBlockSchema.parse({ filters })))
      .describe('Convolution blocks, in order'),
    globalPooling: z
      .enum(['avg', 'max', 'flatten'])
      .default('avg')
      .describe('How the feature map becomes a vector'),
    head: headSchema.default(HEAD_DEFAULT).describe('Hidden dense layers before the output'),
    output: outputSchema.optional().describe('Output layer overrides'),
    ...weightOptionsShape,
  })
  .strict()
  .describe('Convolutional network: 2-D for images, 1-D for sequences and text');
export type CnnConfig = z.infer<typeof cnnSchema>;

function resolveDims(config: CnnConfig, ctx: EncodeContext): 1 | 2 {
  const { spec } = ctx;
  const natural =
    spec.kind === 'text'
      ? spec.shape.length === 1
        ? 1
        : undefined
      : spec.shape.length === 3
        ? 2
        : spec.shape.length === 2
          ? 1
          : undefined;
  if (natural === undefined) {
    throw shapeError(
      ctx,
      'a cnn needs an image, a sequence or text',
      'shape [h, w, channels] (2-D), [steps, channels] (1-D) or text token ids [length]',
    );
  }
  if (config.dims !== 'auto' && config.dims !== natural) {
    throw shapeError(
      ctx,
      `a ${config.dims}-D cnn does not fit this input`,
      config.dims === 2 ? 'an image of shape [h, w, channels]' : 'a sequence [steps, channels] or text',
    );
  }
  return natural;
}

function encode(config: CnnConfig, input: tfl.SymbolicTensor, ctx: EncodeContext): tfl.SymbolicTensor {
  const dims = resolveDims(config, ctx);
  let x = input;
  if (ctx.spec.kind === 'text') {
    if (!ctx.spec.vocabSize)
      throw shapeError(ctx, 'a text input needs vocabSize for the embedding', 'an InputSpec with vocabSize');
    x = tfl.layers
      .embedding({
        inputDim: ctx.spec.vocabSize,
        outputDim: config.embedding.dim,
        embeddingsInitializer: makeInitializer(
          { type: 'randomUniform', minval: -0.05, maxval: 0.05 },
          ctx.nextSeed(),
        ),
        name: ctx.layerName('embedding'),
      })
      .apply(x) as tfl.SymbolicTensor;
  }
  config.blocks.forEach((block, b) => {
    for (let i = 0; i < block.convs; i++) {
      const args = {
        filters: block.filters,
        kernelSize: block.kernelSize,
        strides: block.strides,
        padding: block.padding,
        activation: block.batchNorm ? ('linear' as const) : block.activation,
        ...kernelOptions(ctx, block),
        name: ctx.layerName(`conv${dims}d`),
      };
      x = (dims === 2 ? tfl.layers.conv2d(args) : tfl.layers.conv1d(args)).apply(x) as tfl.SymbolicTensor;
      if (block.batchNorm) {
        x = tfl.layers.batchNormalization({ name: ctx.layerName('bn') }).apply(x) as tfl.SymbolicTensor;
        x = tfl.layers
          .activation({ activation: block.activation, name: ctx.layerName('act') })
          .apply(x) as tfl.SymbolicTensor;
      }
    }
    if (block.pooling !== 'none') {
      const spatial = x.shape.slice(1, 1 + dims) as number[];
      if (spatial.some((s) => s < block.poolSize)) {
        const path = [...ctx.path, 'blocks', b, 'poolSize'];
        throw new TfpipeError(
          'E_MODEL',
          `${formatPath(path)}: pooling of size ${block.poolSize} does not fit the feature map [${spatial.join(', ')}] after block ${b}; input "${ctx.spec.name}" [${ctx.spec.shape.join(', ')}] is too small for ${config.blocks.length} blocks`,
          {
            path,
            issues: [
              {
                path,
                message: 'pooling window larger than the feature map',
                received: block.poolSize,
                expected: `<= ${Math.min(...spatial)}`,
              },
            ],
          },
        );
      }
      const pargs = {
        poolSize: block.poolSize,
        strides: block.poolSize,
        name: ctx.layerName(`${block.pooling}pool`),
      };
      const layer =
        dims === 2
          ? block.pooling === 'max'
            ? tfl.layers.maxPooling2d(pargs)
            : tfl.layers.averagePooling2d(pargs)
          : block.pooling === 'max'
            ? tfl.layers.maxPooling1d(pargs)
            : tfl.layers.averagePooling1d(pargs);
      x = layer.apply(x) as tfl.SymbolicTensor;
    }
    x = dropout(x, block.dropout, ctx);
  });
  const name = ctx.layerName(`global_${config.globalPooling}`);
  const pool =
    config.globalPooling === 'flatten'
      ? tfl.layers.flatten({ name })
      : dims === 2
        ? config.globalPooling === 'max'
          ? tfl.layers.globalMaxPooling2d({ name })
          : tfl.layers.globalAveragePooling2d({ name })
        : config.globalPooling === 'max'
          ? tfl.layers.globalMaxPooling1d({ name })
          : tfl.layers.globalAveragePooling1d({ name });
  return pool.apply(x) as tfl.SymbolicTensor;
}

export const cnnBuilder: ModelBuilder<CnnConfig> = {
  type: 'cnn',
  schema: cnnSchema,
  description: 'Convolutional network (1-D or 2-D)',
  encode,
  build: (config, ctx) => assemble(config, ctx, 'cnn', encode),
};

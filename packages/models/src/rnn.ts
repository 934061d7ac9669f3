import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed } from '@tfpipe/core';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import {
  type BuildContext,
  type EncodeContext,
  type InitializerSpec,
  initializerSchema,
  kernelOptions,
  makeInitializer,
  type Regularization,
  regularizationSchema,
  requireChainedOps,
  shapeError,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import { dropout, HEAD_DEFAULT, headSchema, outputSchema } from './heads.js';

const rnnLayerSchema = z
  .object({
    units: z.number().int().positive().describe('Units of this recurrent layer'),
    kernelInitializer: initializerSchema.optional(),
    regularization: regularizationSchema.optional(),
  })
  .strict();

export const rnnSchema = z
  .object({
    type: z.literal('rnn'),
    cell: z.enum(['lstm', 'gru', 'simpleRNN']).default('lstm').describe('Recurrent cell'),
    units: z
      .array(z.union([z.number().int().positive(), rnnLayerSchema]))
      .min(1)
      .default([64])
      .describe(
        'Stacked recurrent layers: units per layer (or { units, kernelInitializer, regularization })',
      ),
    bidirectional: z.boolean().default(false).describe('Run each layer both ways and concatenate'),
    embedding: z
      .object({
        dim: z.number().int().positive().default(32).describe('Embedding width'),
        maskZero: z.boolean().default(true).describe('Token id 0 is padding: the recurrent layers skip it'),
      })
      .strict()
      .default({ dim: 32, maskZero: true })
      .describe('Token embedding for text inputs'),
    dropout: z.number().min(0).max(1).default(0).describe('Dropout after each recurrent layer'),
    head: headSchema.default(HEAD_DEFAULT).describe('Hidden dense layers before the output'),
    output: outputSchema.optional().describe('Output layer overrides'),
    ...weightOptionsShape,
  })
  .strict()
  .describe('Recurrent network (SimpleRNN, LSTM, GRU) over embeddings (text) or feature sequences');
export type RnnConfig = z.infer<typeof rnnSchema>;

type RnnLayerArgs = Parameters<typeof tfl.layers.lstm>[0];

function cellArgs(
  ctx: BuildContext,
  layer: { units: number; kernelInitializer?: InitializerSpec; regularization?: Regularization },
  returnSequences: boolean,
  seed: number,
): RnnLayerArgs {
  const k = kernelOptions({ ...ctx, nextSeed: () => hashSeed(`${seed}:kernel`) }, layer);
  return {
    units: layer.units,
    returnSequences,
    ...k,
    recurrentInitializer: makeInitializer('orthogonal', hashSeed(`${seed}:recurrent`)),
  };
}

function makeCell(cell: RnnConfig['cell'], args: RnnLayerArgs): tfl.RNN {
  if (cell === 'gru') return tfl.layers.gru(args);
  if (cell === 'simpleRNN') return tfl.layers.simpleRNN(args);
  return tfl.layers.lstm(args);
}

function encode(config: RnnConfig, input: tfl.SymbolicTensor, ctx: EncodeContext): tfl.SymbolicTensor {
  const { spec } = ctx;
  requireChainedOps(`an rnn (${config.cell})`, ctx.path);
  let x = input;
  if (spec.kind === 'text' && spec.shape.length === 1) {
    if (!spec.vocabSize)
      throw shapeError(ctx, 'a text input needs vocabSize for the embedding', 'an InputSpec with vocabSize');
    x = tfl.layers
      .embedding({
        inputDim: spec.vocabSize,
        outputDim: config.embedding.dim,
        maskZero: config.embedding.maskZero,
        embeddingsInitializer: makeInitializer(
          { type: 'randomUniform', minval: -0.05, maxval: 0.05 },
          ctx.nextSeed(),
        ),
        name: ctx.layerName('embedding'),
      })
      .apply(x) as tfl.SymbolicTensor;
  } else if (spec.kind === 'text' || spec.shape.length !== 2) {
    throw shapeError(
      ctx,
      'an rnn needs text token ids or a sequence of feature vectors',
      'text ids of shape [length] or a sequence of shape [steps, features]',
    );
  }
  config.units.forEach((entry, i) => {
    const layer = typeof entry === 'number' ? { units: entry } : entry;
    const returnSequences = i < config.units.length - 1;
    const name = ctx.layerName(config.cell);
    const seed = ctx.nextSeed();
    const args = cellArgs(ctx, layer, returnSequences, seed);
    if (config.bidirectional) {
      const forward = makeCell(config.cell, { ...args, name });
      const bidi = tfl.layers.bidirectional({
        layer: forward,
        mergeMode: 'concat',
        name: `${name}_bidirectional`,
      });
      const inShape = x.shape;
      x = bidi.apply(x) as tfl.SymbolicTensor;
      // tfjs makes the backward layer from the forward layer's config, so the same seeds: give it its own
      // initial weights, drawn from a twin with other seeds.
      const twin = makeCell(config.cell, {
        ...cellArgs(ctx, layer, returnSequences, hashSeed(`${seed}:backward`)),
        goBackwards: true,
      });
      twin.apply(tfl.input({ shape: inShape.slice(1) as number[] }));
      const twinWeights = twin.getWeights();
      const n = twinWeights.length;
      // Clones, so the forward variables are never assigned to themselves.
      const forwardWeights = bidi
        .getWeights()
        .slice(0, -n)
        .map((w) => w.clone());
      bidi.setWeights([...forwardWeights, ...twinWeights]);
      tf.dispose(forwardWeights);
      twin.dispose();
    } else {
      x = makeCell(config.cell, { ...args, name }).apply(x) as tfl.SymbolicTensor;
    }
    x = dropout(x, config.dropout, ctx);
  });
  return x;
}

export const rnnBuilder: ModelBuilder<RnnConfig> = {
  type: 'rnn',
  schema: rnnSchema,
  description: 'Recurrent network: SimpleRNN, LSTM or GRU; bidirectional; stacked',
  encode,
  build: (config, ctx) => assemble(config, ctx, 'rnn', encode),
};

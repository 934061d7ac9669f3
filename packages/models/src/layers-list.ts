import * as tfl from '@tensorflow/tfjs-layers';
import { didYouMean, formatPath, type Issue, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { makeInput, singleInput } from './_assemble.js';
import {
  type BuildContext,
  type EncodeContext,
  type InitializerSpec,
  initializerSchema,
  makeInitializer,
  makeRegularizer,
  regularizationSchema,
  sampleShape,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import { outputLayer, outputSchema, taskOutput } from './heads.js';
import { SeededDropout } from './layers/seeded-dropout.js';

/** Factories that are not one-input layers of a list (cells, wrappers, merges, the input layer). */
const NOT_LIST_LAYERS = new Set([
  'inputLayer',
  'rnn',
  'stackedRNNCells',
  'lstmCell',
  'gruCell',
  'simpleRNNCell',
  'convLstm2dCell',
  'bidirectional',
  'timeDistributed',
  'add',
  'average',
  'concatenate',
  'maximum',
  'minimum',
  'multiply',
  'dot',
]);
type Factory = (args: Record<string, unknown>) => tfl.layers.Layer;
const factories = tfl.layers as unknown as Record<string, Factory>;
/** Layer type names (tfl.layers factory names, camelCase) usable in a `layers` list. */
export const LIST_LAYER_TYPES: readonly string[] = Object.keys(tfl.layers)
  .filter((k) => typeof factories[k] === 'function' && !NOT_LIST_LAYERS.has(k))
  .sort();

/** Keys every layer takes besides its own config. */
const BASE_KEYS = ['name', 'trainable', 'dtype'];
/** Our additions to a layer's options. */
const EXTRA_KEYS = ['regularization'];
const SHAPE_KEYS = ['inputShape', 'batchInputShape', 'batchSize', 'inputLength'];
const INITIALIZER_DEFAULTS: Record<string, InitializerSpec> = {
  recurrentInitializer: 'orthogonal',
  embeddingsInitializer: { type: 'randomUniform', minval: -0.05, maxval: 0.05 },
  depthwiseInitializer: 'glorotUniform',
  pointwiseInitializer: 'glorotUniform',
};

/** Options a layer cannot be made without, with stand-in values for probing its accepted options. */
const REQUIRED: Record<string, Record<string, unknown>> = {
  dense: { units: 1 },
  conv1d: { filters: 1, kernelSize: 1 },
  conv2d: { filters: 1, kernelSize: 1 },
  conv3d: { filters: 1, kernelSize: 1 },
  conv2dTranspose: { filters: 1, kernelSize: 1 },
  conv3dTranspose: { filters: 1, kernelSize: 1 },
  separableConv2d: { filters: 1, kernelSize: 1 },
  depthwiseConv2d: { kernelSize: 1 },
  convLstm2d: { filters: 1, kernelSize: 1 },
  embedding: { inputDim: 1, outputDim: 1 },
  lstm: { units: 1 },
  gru: { units: 1 },
  simpleRNN: { units: 1 },
  dropout: { rate: 0.5 },
  spatialDropout1d: { rate: 0.5 },
  alphaDropout: { rate: 0.5 },
  gaussianDropout: { rate: 0.5 },
  gaussianNoise: { stddev: 1 },
  reshape: { targetShape: [1] },
  permute: { dims: [1] },
  repeatVector: { n: 1 },
  activation: { activation: 'linear' },
  cropping2D: { cropping: 1 },
  centerCrop: { height: 1, width: 1 },
  resizing: { height: 1, width: 1 },
  rescaling: { scale: 1 },
  categoryEncoding: { numTokens: 1 },
};

const listLayerSchema = z
  .object({
    type: z
      .string()
      .describe('A tfl.layers factory name in camelCase: dense, conv2d, maxPooling2d, flatten, lstm, ...'),
    regularization: regularizationSchema.optional().describe("L1/L2 on this layer's kernel"),
  })
  .catchall(z.unknown())
  .describe('One TF.js layer: { type, ...its options }');
export type ListLayerConfig = z.infer<typeof listLayerSchema>;

/** Checks one layer config against what the TF.js layer accepts, without making any tensor. */
export function checkListLayer(layer: ListLayerConfig, path: (string | number)[]): Issue[] {
  const { type, regularization: _r, ...opts } = layer;
  if (!LIST_LAYER_TYPES.includes(type)) {
    const suggestion = didYouMean(type, LIST_LAYER_TYPES);
    return [
      {
        path: [...path, 'type'],
        message: 'unknown layer type',
        received: type,
        expected: `a tfl.layers name: ${LIST_LAYER_TYPES.join(', ')}`,
        ...(suggestion ? { suggestion } : {}),
      },
    ];
  }
  const issues: Issue[] = [];
  for (const key of Object.keys(opts)) {
    if (SHAPE_KEYS.includes(key))
      issues.push({
        path: [...path, key],
        message: 'input shapes come from the data (InputSpec), not the layer list',
        received: opts[key],
      });
  }
  if (issues.length) return issues;
  const required = REQUIRED[type] ?? {};
  let known: string[];
  try {
    // Stand-ins for missing required options, so unknown keys are found even when one is misspelt.
    known = Object.keys(factories[type]!(probeArgs({ ...required, ...opts })).getConfig());
  } catch (e) {
    return [{ path, message: `invalid options for ${type}: ${(e as Error).message}`, received: opts }];
  }
  const allowed = [...new Set([...known, ...BASE_KEYS, ...EXTRA_KEYS])];
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      const suggestion = didYouMean(key, allowed);
      issues.push({
        code: 'unknown_key',
        path: [...path, key],
        message: `unknown key for layer ${type}`,
        expected: `one of ${allowed.join(', ')}`,
        ...(suggestion ? { suggestion } : {}),
      });
    }
  }
  for (const key of Object.keys(required)) {
    if (!(key in opts)) issues.push({ path: [...path, key], message: `layer ${type} needs option ${key}` });
  }
  if (issues.length) return issues;
  try {
    factories[type]!(probeArgs(opts));
  } catch (e) {
    issues.push({ path, message: `invalid options for ${type}: ${(e as Error).message}`, received: opts });
  }
  return issues;
}

/** Options as tfjs takes them: our initializer specs become initializer objects (seed 0 for probing). */
function probeArgs(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts))
    out[k] = k.endsWith('Initializer') && isInitializerSpec(v) ? makeInitializer(v, 0) : v;
  return out;
}

function isInitializerSpec(v: unknown): v is InitializerSpec {
  return initializerSchema.safeParse(v).success;
}

export const layersSchema = z
  .object({
    type: z.literal('layers'),
    layers: z
      .array(listLayerSchema)
      .min(1)
      .describe(
        'TF.js layers applied in order, e.g. { type: conv2d, filters: 32, kernelSize: 3, activation: relu }',
      ),
    appendOutput: z
      .boolean()
      .default(false)
      .describe(
        "Add the task's output layer after the list; false: the list's last layer is the output and must match the task",
      ),
    output: outputSchema.optional().describe('Output layer overrides (with appendOutput)'),
    ...weightOptionsShape,
  })
  .strict()
  .superRefine((c, ctx) => {
    c.layers.forEach((layer, i) => {
      for (const issue of checkListLayer(layer, ['layers', i])) {
        ctx.addIssue({
          code: 'custom',
          path: issue.path,
          message: formatListIssue(issue),
          input: issue.received,
        });
      }
    });
  })
  .describe('A list of TF.js layer configs by name');
export type LayersConfig = z.infer<typeof layersSchema>;

function formatListIssue(issue: Issue): string {
  return `${issue.message}${issue.received !== undefined && typeof issue.received !== 'object' ? `: received ${JSON.stringify(issue.received)}` : ''}${issue.suggestion ? ` (did you mean "${issue.suggestion}"?)` : ''}`;
}

/** The real layer: seeded initializers (given or default), regularization, a seeded dropout. */
function makeListLayer(layer: ListLayerConfig, ctx: BuildContext, index: number): tfl.layers.Layer {
  const { type, regularization, ...opts } = layer;
  const name = (opts.name as string | undefined) ?? ctx.layerName(`${type}`);
  if (type === 'dropout' && opts.noiseShape === undefined) {
    // Seeded masks that change every step (see SeededDropout).
    return new SeededDropout({
      rate: Number(opts.rate),
      seed: (opts.seed as number | undefined) ?? ctx.nextSeed(),
      name,
    });
  }
  const known = Object.keys(factories[type]!(probeArgs(opts)).getConfig());
  const args: Record<string, unknown> = { ...opts, name };
  for (const key of known.filter((k) => k.endsWith('Initializer'))) {
    const given = opts[key];
    const spec =
      given === undefined
        ? key === 'kernelInitializer'
          ? (ctx.defaults.kernelInitializer ?? 'glorotUniform')
          : INITIALIZER_DEFAULTS[key]
        : given;
    if (spec !== undefined && isInitializerSpec(spec)) args[key] = makeInitializer(spec, ctx.nextSeed());
  }
  if (known.includes('kernelRegularizer') && opts.kernelRegularizer === undefined) {
    const reg = makeRegularizer(regularization ?? ctx.defaults.regularization);
    if (reg) args.kernelRegularizer = reg;
  } else if (regularization) {
    throw new TfpipeError(
      'E_CONFIG',
      `${formatPath([...ctx.path, 'layers', index, 'regularization'])}: layer ${type} has no kernel to regularize`,
      {
        path: [...ctx.path, 'layers', index, 'regularization'],
      },
    );
  }
  return factories[type]!(args);
}

function encode(config: LayersConfig, input: tfl.SymbolicTensor, ctx: EncodeContext): tfl.SymbolicTensor {
  let x = input;
  config.layers.forEach((layer, i) => {
    const path = [...ctx.path, 'layers', i];
    try {
      x = makeListLayer(layer, ctx, i).apply(x) as tfl.SymbolicTensor;
    } catch (e) {
      if (e instanceof TfpipeError) throw e;
      throw new TfpipeError(
        'E_MODEL',
        `${formatPath(path)}: layer ${layer.type} does not fit its input of shape [${sampleShape(x).join(', ')}] (input "${ctx.spec.name}"): ${(e as Error).message}`,
        {
          path,
          cause: e,
        },
      );
    }
  });
  return x;
}

export const layersBuilder: ModelBuilder<LayersConfig> = {
  type: 'layers',
  schema: layersSchema,
  description: 'A list of TF.js layers by name',
  encode,
  build(config, ctx) {
    const spec = singleInput(ctx, 'layers');
    const input = makeInput(spec);
    let y = encode(config, input, { ...ctx, spec });
    if (config.appendOutput) {
      y = outputLayer(
        y.shape.length > 2
          ? (tfl.layers.flatten({ name: ctx.layerName('flatten') }).apply(y) as tfl.SymbolicTensor)
          : y,
        ctx.task,
        ctx,
        config.output ?? {},
      );
    } else {
      const want = [taskOutput(ctx.task).units];
      const got = sampleShape(y);
      if (got.join(',') !== want.join(',')) {
        const path = [...ctx.path, 'layers', config.layers.length - 1];
        throw new TfpipeError(
          'E_MODEL',
          `${formatPath(path)}: the last layer outputs [${got.join(', ')}] per sample; the ${ctx.task.kind} task needs [${want.join(', ')}]`,
          {
            path,
            issues: [
              {
                path,
                message: 'output shape does not match the task',
                received: `[${got.join(', ')}]`,
                expected: `[${want.join(', ')}]`,
              },
            ],
            hint: "Fix the last layer's units, or set appendOutput: true to add the task's output layer.",
          },
        );
      }
    }
    return tfl.model({ inputs: input, outputs: y, name: 'layers' });
  },
};

import * as tfl from '@tensorflow/tfjs-layers';
import type { InputSpec, Registry, TaskSpec } from '@tfpipe/core';
import { createRng, formatPath, installChainedOps, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import type { ModelBuilder } from './builder.js';

/** TF.js's initializer and regularizer classes (not exported by name). */
export type Initializer = ReturnType<typeof tfl.initializers.zeros>;
export type Regularizer = ReturnType<typeof tfl.regularizers.l1l2>;

/** Activations TF.js layers knows, by their identifier. */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hardSigmoid',
  'softmax',
  'softplus',
  'softsign',
  'tanh',
  'swish',
  'mish',
  'gelu',
] as const;
export const activationSchema = z.enum(ACTIVATIONS).describe('A TF.js activation name');
export type Activation = z.infer<typeof activationSchema>;

/** Initializers that draw random numbers, so take a seed. */
const SEEDED_INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heNormal',
  'heUniform',
  'leCunNormal',
  'leCunUniform',
  'randomNormal',
  'randomUniform',
  'truncatedNormal',
  'varianceScaling',
  'orthogonal',
] as const;
export const INITIALIZERS = [...SEEDED_INITIALIZERS, 'zeros', 'ones', 'constant', 'identity'] as const;
type InitializerName = (typeof INITIALIZERS)[number];

export const initializerSchema = z
  .union([
    z.enum(INITIALIZERS),
    z
      .object({
        type: z.enum(INITIALIZERS).describe('Initializer name'),
        scale: z.number().positive().optional().describe('varianceScaling: scale'),
        mode: z.enum(['fanIn', 'fanOut', 'fanAvg']).optional().describe('varianceScaling: mode'),
        distribution: z
          .enum(['normal', 'uniform', 'truncatedNormal'])
          .optional()
          .describe('varianceScaling: distribution'),
        mean: z.number().optional().describe('randomNormal / truncatedNormal: mean'),
        stddev: z
          .number()
          .positive()
          .optional()
          .describe('randomNormal / truncatedNormal: standard deviation'),
        minval: z.number().optional().describe('randomUniform: lower bound'),
        maxval: z.number().optional().describe('randomUniform: upper bound'),
        gain: z.number().optional().describe('orthogonal / identity: gain'),
        value: z.number().optional().describe('constant: value'),
      })
      .strict(),
  ])
  .describe(
    'A weight initializer: a name (glorotUniform, heNormal, ...) or { type, ...options }. Seeded from the model seed.',
  );
export type InitializerSpec = z.infer<typeof initializerSchema>;

export const regularizationSchema = z
  .object({
    l1: z.number().min(0).default(0).describe('L1 penalty factor on kernels'),
    l2: z.number().min(0).default(0).describe('L2 penalty factor on kernels'),
  })
  .strict()
  .describe('L1/L2 penalty on kernel weights');
export type Regularization = z.infer<typeof regularizationSchema>;

/** Fields every builder accepts: they set defaults for the layers it makes (a layer's own setting wins). */
export const weightOptionsShape = {
  kernelInitializer: initializerSchema
    .optional()
    .describe(
      "Kernel initializer for every layer of this model (default glorotUniform, or the parent fusion model's)",
    ),
  regularization: regularizationSchema
    .optional()
    .describe("L1/L2 on every kernel of this model (default none, or the parent fusion model's)"),
};

/** A TF.js initializer from a spec, with an explicit seed so the same model seed gives the same weights. */
export function makeInitializer(spec: InitializerSpec, seed: number): Initializer {
  const { type, ...opts } = typeof spec === 'string' ? { type: spec } : spec;
  const name = type as InitializerName;
  const seeded = (SEEDED_INITIALIZERS as readonly string[]).includes(name);
  if (name === 'orthogonal') requireChainedOps('the orthogonal initializer', []);
  const factory = tfl.initializers[name] as (args: Record<string, unknown>) => Initializer;
  return factory(seeded ? { ...opts, seed } : opts);
}

export function makeRegularizer(r: Regularization | undefined): Regularizer | undefined {
  if (!r || (r.l1 === 0 && r.l2 === 0)) return undefined;
  return tfl.regularizers.l1l2({ l1: r.l1, l2: r.l2 });
}

/** Registry of model builders. */
export type ModelRegistry = Registry<ModelBuilder>;

/** What a builder gets: the data's inputs and task, derived seeds, inherited weight options, its config path. */
export interface BuildContext {
  inputs: InputSpec[];
  task: TaskSpec;
  /** Tasks per output name, for multi-output models (else each output config names its task). */
  tasks?: Record<string, TaskSpec>;
  registry: ModelRegistry;
  /** Config path of the builder's config, for messages: ['model'] or ['model', 'inputs', 'image']. */
  path: (string | number)[];
  /** The next seed of the model's seed stream (createRng(seed)); build order is fixed, so weights are reproducible. */
  nextSeed(): number;
  /** A unique, readable layer name: `<prefix><kind>_<n>`. */
  layerName(kind: string): string;
  /** Weight defaults inherited from the enclosing config. */
  defaults: { kernelInitializer?: InitializerSpec; regularization?: Regularization };
}

/** Context of an encoder: the spec of the one input it encodes. */
export interface EncodeContext extends BuildContext {
  spec: InputSpec;
}

/** The root context of one build. */
export function rootContext(opts: {
  inputs: InputSpec[];
  task: TaskSpec;
  tasks?: Record<string, TaskSpec>;
  seed: number;
  registry: ModelRegistry;
  path: (string | number)[];
}): BuildContext {
  const rng = createRng(opts.seed);
  const counters = new Map<string, number>();
  return {
    inputs: opts.inputs,
    task: opts.task,
    ...(opts.tasks ? { tasks: opts.tasks } : {}),
    registry: opts.registry,
    path: opts.path,
    nextSeed: () => rng.seed32(),
    layerName(kind) {
      const n = counters.get(kind) ?? 0;
      counters.set(kind, n + 1);
      return `${kind}_${n}`;
    },
    defaults: {},
  };
}

/** A child context: a config path below, a layer-name prefix, and the child config's weight options on top. */
export function childContext<C extends BuildContext>(
  ctx: C,
  opts: {
    path?: (string | number)[];
    prefix?: string;
    config?: { kernelInitializer?: InitializerSpec; regularization?: Regularization };
  },
): C {
  const defaults = { ...ctx.defaults };
  if (opts.config?.kernelInitializer !== undefined)
    defaults.kernelInitializer = opts.config.kernelInitializer;
  if (opts.config?.regularization !== undefined) defaults.regularization = opts.config.regularization;
  const prefix = opts.prefix;
  return {
    ...ctx,
    path: opts.path ?? ctx.path,
    defaults,
    layerName: prefix === undefined ? ctx.layerName : (kind: string) => ctx.layerName(`${prefix}_${kind}`),
  };
}

/** kernelInitializer (seeded) + kernelRegularizer for one layer; the layer's own options win over inherited ones. */
export function kernelOptions(
  ctx: BuildContext,
  layer: {
    kernelInitializer?: InitializerSpec | undefined;
    regularization?: Regularization | undefined;
  } = {},
): { kernelInitializer: Initializer; kernelRegularizer?: Regularizer } {
  const init = layer.kernelInitializer ?? ctx.defaults.kernelInitializer ?? 'glorotUniform';
  const reg = makeRegularizer(layer.regularization ?? ctx.defaults.regularization);
  return {
    kernelInitializer: makeInitializer(init, ctx.nextSeed()),
    ...(reg ? { kernelRegularizer: reg } : {}),
  };
}

/** An E_MODEL error at `path`: the input does not fit what the builder needs. */
export function shapeError(ctx: EncodeContext, what: string, expected: string): TfpipeError {
  const { spec } = ctx;
  const received = `${spec.kind} input "${spec.name}" of shape [${spec.shape.join(', ')}]`;
  return new TfpipeError(
    'E_MODEL',
    `${formatPath(ctx.path)}: ${what}: received ${received}; expected ${expected}`,
    {
      path: ctx.path,
      issues: [{ path: ctx.path, message: what, received, expected }],
    },
  );
}

/** The symbolic shape without the batch dimension. */
export function sampleShape(x: tfl.SymbolicTensor): number[] {
  return x.shape.slice(1) as number[];
}

/** Flattens a [batch, ...] tensor to [batch, n] when it has more than one sample dimension. */
export function flattenIfNeeded(x: tfl.SymbolicTensor, ctx: BuildContext): tfl.SymbolicTensor {
  if (x.shape.length <= 2) return x;
  return tfl.layers.flatten({ name: ctx.layerName('flatten') }).apply(x) as tfl.SymbolicTensor;
}

/**
 * tfjs-layers' recurrent cells and orthogonal initializer call chained tensor methods (`x.flatten()`) that
 * the Node bundle of tfjs-core does not install; install them (idempotent) before building such layers.
 */
export function requireChainedOps(_what: string, _path: (string | number)[]): void {
  installChainedOps();
}

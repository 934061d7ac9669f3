import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

const lr = z.number().gt(0).default(0.001).describe('Base learning rate (a schedule scales it)');

const sgdSchema = z
  .object({
    type: z.literal('sgd'),
    learningRate: z.number().gt(0).default(0.01).describe('Base learning rate (a schedule scales it)'),
    momentum: z.number().min(0).lt(1).default(0).describe('Momentum (0: plain SGD)'),
    nesterov: z.boolean().default(false).describe('Nesterov momentum (needs momentum > 0)'),
  })
  .strict();
const adamSchema = z
  .object({
    type: z.literal('adam'),
    learningRate: lr,
    beta1: z.number().min(0).lt(1).default(0.9).describe('Decay of the first moment'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('Decay of the second moment'),
    epsilon: z.number().gt(0).default(1e-7).describe('Added to the denominator'),
  })
  .strict();
const adamwSchema = z
  .object({
    type: z.literal('adamw'),
    learningRate: lr,
    beta1: z.number().min(0).lt(1).default(0.9).describe('Decay of the first moment'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('Decay of the second moment'),
    epsilon: z.number().gt(0).default(1e-7).describe('Added to the denominator'),
    weightDecay: z.number().min(0).default(0.01).describe('Decoupled weight decay: w -= lr * weightDecay * w every step'),
  })
  .strict();
const rmspropSchema = z
  .object({
    type: z.literal('rmsprop'),
    learningRate: lr,
    decay: z.number().min(0).lt(1).default(0.9).describe('Decay of the mean square'),
    momentum: z.number().min(0).lt(1).default(0).describe('Momentum'),
    epsilon: z.number().gt(0).default(1e-7).describe('Added to the denominator'),
    centered: z.boolean().default(false).describe('Normalise by the variance instead of the mean square'),
  })
  .strict();
const adagradSchema = z
  .object({
    type: z.literal('adagrad'),
    learningRate: z.number().gt(0).default(0.01).describe('Base learning rate (a schedule scales it)'),
    initialAccumulatorValue: z.number().gt(0).default(0.1).describe('Starting value of the squared-gradient sums'),
  })
  .strict();

export const optimizerSchema = z
  .discriminatedUnion('type', [sgdSchema, adamSchema, adamwSchema, rmspropSchema, adagradSchema])
  .describe('Optimizer');
export type OptimizerConfig = z.infer<typeof optimizerSchema>;

/** A tfjs optimizer plus what tfjs lacks: a settable learning rate and AdamW's decoupled decay. */
export interface TrainOptimizer {
  readonly config: OptimizerConfig;
  readonly optimizer: tf.Optimizer;
  learningRate(): number;
  /** Sets the lr for the next steps (tfjs optimizers read `learningRate` on every step). */
  setLearningRate(lr: number): void;
  /** Applies gradients (in the order of `vars`), with AdamW's decay on the pre-step weights. */
  apply(vars: readonly tf.Variable[], grads: readonly tf.Tensor[]): void;
  dispose(): void;
}

/** Builds the optimizer a config names. */
export function createOptimizer(config: OptimizerConfig): TrainOptimizer {
  let current = config.learningRate;
  const opt = build(config);
  return {
    config,
    optimizer: opt,
    learningRate: () => current,
    setLearningRate(value) {
      if (value === current) return;
      current = value;
      // SGD/Momentum cache -lr in a kept scalar; setLearningRate swaps it. The others read the field.
      // (No instanceof: tfjs's Optimizer[Symbol.hasInstance] matches every optimizer.)
      if (config.type === 'sgd') (opt as tf.SGDOptimizer).setLearningRate(value);
      else (opt as unknown as { learningRate: number }).learningRate = value;
    },
    apply(vars, grads) {
      if (config.type === 'adamw' && config.weightDecay > 0) {
        // Loshchilov & Hutter (as PyTorch's AdamW): decay the weights, not the gradients; the Adam
        // update does not depend on w, so decaying first equals w - lr*wd*w - lr*adam(g).
        const keep = 1 - current * config.weightDecay;
        tf.tidy(() => {
          for (const v of vars) v.assign(tf.mul(v, keep));
        });
      }
      opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    },
    dispose: () => opt.dispose(),
  };
}

function build(c: OptimizerConfig): tf.Optimizer {
  switch (c.type) {
    case 'sgd':
      return c.momentum > 0 ? tf.train.momentum(c.learningRate, c.momentum, c.nesterov) : tf.train.sgd(c.learningRate);
    case 'adam':
    case 'adamw':
      return tf.train.adam(c.learningRate, c.beta1, c.beta2, c.epsilon);
    case 'rmsprop':
      return tf.train.rmsprop(c.learningRate, c.decay, c.momentum, c.epsilon, c.centered);
    case 'adagrad':
      return tf.train.adagrad(c.learningRate, c.initialAccumulatorValue);
  }
}

/**
 * Adam's bias-correction powers (beta1^t, beta2^t) live in two variables that tfjs updates by one float32
 * multiplication per step, but `setWeights` recomputes them as pow(beta, t + 1): another rounding, so a
 * resumed run drifts from an uninterrupted one. They are saved beside the slots under these names and put back.
 */
const ADAM_POWERS = ['tfpipe/accBeta1', 'tfpipe/accBeta2'] as const;

interface AdamPowers {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function adamPowers(opt: TrainOptimizer): AdamPowers | undefined {
  if (opt.config.type !== 'adam' && opt.config.type !== 'adamw') return undefined;
  const o = opt.optimizer as unknown as Partial<AdamPowers>;
  return o.accBeta1 && o.accBeta2 ? (o as AdamPowers) : undefined;
}

/** The optimizer's whole state: slot variables (moments, accumulators), iteration count, Adam's powers. */
export async function optimizerWeights(opt: TrainOptimizer): Promise<{ data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] }> {
  const named = await opt.optimizer.getWeights();
  const powers = adamPowers(opt);
  const all = powers ? [...named, { name: ADAM_POWERS[0], tensor: powers.accBeta1 }, { name: ADAM_POWERS[1], tensor: powers.accBeta2 }] : named;
  try {
    const { data, specs } = await tf.io.encodeWeights(all);
    return { data: data as ArrayBuffer, specs };
  } finally {
    // Only the iteration scalar is a fresh tensor; the rest are the optimizer's own variables.
    named[0]?.tensor.dispose();
  }
}

/** Restores what `optimizerWeights` saved, bit for bit. */
export async function setOptimizerWeights(opt: TrainOptimizer, data: ArrayBuffer, specs: tf.io.WeightsManifestEntry[]): Promise<void> {
  const map = tf.io.decodeWeights(data, specs);
  const extra = new Set<string>(ADAM_POWERS);
  const list = specs.filter((s) => !extra.has(s.name)).map((s) => ({ name: s.name, tensor: map[s.name]! }));
  try {
    await opt.optimizer.setWeights(list);
    const powers = adamPowers(opt);
    const [b1, b2] = [map[ADAM_POWERS[0]], map[ADAM_POWERS[1]]];
    // Checkpoints from before the powers were saved keep tfjs's pow().
    if (powers && b1 && b2) {
      powers.accBeta1.assign(b1 as tf.Scalar);
      powers.accBeta2.assign(b2 as tf.Scalar);
    }
  } finally {
    // setWeights wraps each tensor in a new variable that shares its data; ours can go.
    for (const t of Object.values(map)) t.dispose();
  }
}

import * as tf from '@tensorflow/tfjs-core';
import { type Batch, parseSection, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';

/** What an attack needs from a model: a differentiable `predict` (tfjs-layers' LayersModel has one). */
export interface AttackModel {
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
}

export type AttackLossName = 'categoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError';
/** A loss by name, or a function (yTrue, yPred) => scalar. */
export type AttackLoss = AttackLossName | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar);

const lossSchema = z
  .enum(['categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError'])
  .optional()
  .describe('loss to ascend; default: categoricalCrossentropy for one-hot y [n, k], binaryCrossentropy for y [n, 1]');

const common = {
  epsilon: z.number().min(0).describe('L-infinity radius of the perturbation, in input units (0..1 for scaled images)'),
  clipMin: z.number().default(0).describe('smallest valid input value'),
  clipMax: z.number().default(1).describe('largest valid input value'),
  loss: lossSchema,
};

export const fgsmSchema = z.object({ type: z.literal('fgsm'), ...common }).strict().describe('Fast Gradient Sign Method (Goodfellow et al. 2015)');
export const pgdSchema = z
  .object({
    type: z.literal('pgd'),
    ...common,
    steps: z.number().int().min(1).default(10).describe('gradient steps'),
    stepSize: z.number().positive().optional().describe('step per iteration; default 2.5 * epsilon / steps (Madry et al.)'),
    randomStart: z.boolean().default(true).describe('start from a uniform random point in the epsilon ball'),
    seed: z.number().int().default(0).describe('seed of the random start'),
  })
  .strict()
  .describe('Projected Gradient Descent (Madry et al. 2018)');
export const attackSchema = z.discriminatedUnion('type', [fgsmSchema, pgdSchema]);

export type AttackConfig = z.input<typeof attackSchema>;
export interface FgsmOptions {
  epsilon: number;
  clipMin?: number;
  clipMax?: number;
  loss?: AttackLoss;
}
export interface PgdOptions extends FgsmOptions {
  steps: number;
  stepSize?: number;
  randomStart?: boolean;
  seed?: number;
}
/** An attack bound to its options: returns adversarial x, a new tensor the caller disposes. */
export type Attack = (model: AttackModel, x: tf.Tensor, y: tf.Tensor) => tf.Tensor;

function lossFn(loss: AttackLoss | undefined, y: tf.Tensor): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  if (typeof loss === 'function') return loss;
  const name = loss ?? (y.shape[y.shape.length - 1] === 1 ? 'binaryCrossentropy' : 'categoricalCrossentropy');
  const eps = 1e-7;
  switch (name) {
    case 'categoricalCrossentropy':
      return (t, p) => tf.neg(tf.mean(tf.sum(tf.mul(t, tf.log(tf.clipByValue(p, eps, 1 - eps))), -1))) as tf.Scalar;
    case 'binaryCrossentropy':
      return (t, p) => {
        const q = tf.clipByValue(p, eps, 1 - eps);
        return tf.neg(tf.mean(tf.add(tf.mul(t, tf.log(q)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, q)))))) as tf.Scalar;
      };
    case 'meanSquaredError':
      return (t, p) => tf.mean(tf.square(tf.sub(t, p))) as tf.Scalar;
  }
}

function output(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(out)) return out;
  if (out.length === 1) return out[0]!;
  throw new TfpipeError('E_USAGE', `attacks handle models with one output; this one has ${out.length}`);
}

function check(opts: FgsmOptions): { clipMin: number; clipMax: number } {
  const clipMin = opts.clipMin ?? 0;
  const clipMax = opts.clipMax ?? 1;
  if (!(opts.epsilon >= 0)) throw new TfpipeError('E_USAGE', `attack epsilon: received ${opts.epsilon}; expected a number >= 0`);
  if (!(clipMin < clipMax)) throw new TfpipeError('E_USAGE', `attack clip range: received [${clipMin}, ${clipMax}]; expected clipMin < clipMax`);
  return { clipMin, clipMax };
}

/** The sign of the loss gradient with respect to the input. */
function gradSign(model: AttackModel, x: tf.Tensor, y: tf.Tensor, loss: AttackLoss | undefined): tf.Tensor {
  const f = lossFn(loss, y);
  return tf.tidy(() => tf.sign(tf.grad((xi: tf.Tensor) => f(y, output(model.predict(xi))))(x)));
}

/** FGSM: x + epsilon * sign(grad_x loss), clipped to [clipMin, clipMax]. Leaves no tensor but its result. */
export function fgsm(model: AttackModel, x: tf.Tensor, y: tf.Tensor, opts: FgsmOptions): tf.Tensor {
  const { clipMin, clipMax } = check(opts);
  return tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(gradSign(model, x, y, opts.loss), opts.epsilon)), clipMin, clipMax));
}

/**
 * PGD: from a seeded random point in the epsilon ball, `steps` signed-gradient steps of `stepSize`,
 * each projected back into the ball around x and the valid range. Leaves no tensor but its result.
 */
export function pgd(model: AttackModel, x: tf.Tensor, y: tf.Tensor, opts: PgdOptions): tf.Tensor {
  const { clipMin, clipMax } = check(opts);
  if (!(Number.isInteger(opts.steps) && opts.steps >= 1)) throw new TfpipeError('E_USAGE', `pgd steps: received ${opts.steps}; expected an integer >= 1`);
  const eps = opts.epsilon;
  const stepSize = opts.stepSize ?? (2.5 * eps) / opts.steps;
  const lo = tf.tidy(() => tf.maximum(tf.sub(x, eps), clipMin));
  const hi = tf.tidy(() => tf.minimum(tf.add(x, eps), clipMax));
  let adv =
    opts.randomStart === false
      ? tf.clone(x)
      : tf.tidy(() => tf.minimum(tf.maximum(tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', opts.seed ?? 0)), lo), hi));
  for (let s = 0; s < opts.steps; s++) {
    const next = tf.tidy(() => tf.minimum(tf.maximum(tf.add(adv, tf.mul(gradSign(model, adv, y, opts.loss), stepSize)), lo), hi));
    adv.dispose();
    adv = next;
  }
  tf.dispose([lo, hi]);
  return adv;
}

/** Binds an attack config (from YAML) to a function. */
export function createAttack(config: AttackConfig): Attack {
  const c = parseSection(attackSchema, config, ['attack']);
  if (c.type === 'fgsm') return (m, x, y) => fgsm(m, x, y, c);
  return (m, x, y) => pgd(m, x, y, { ...c, ...(c.stepSize === undefined ? {} : { stepSize: c.stepSize }) });
}

export interface RobustAccuracy {
  /** Accuracy on the clean inputs. */
  accuracy: number;
  /** Accuracy on the attacked inputs. */
  robustAccuracy: number;
  samples: number;
}

function correct(yTrue: tf.Tensor, yPred: tf.Tensor): number {
  return tf.tidy(() => {
    const k = yPred.shape[yPred.shape.length - 1]!;
    const hit =
      k === 1
        ? tf.equal(tf.greater(yPred, 0.5), tf.greaterEqual(yTrue, 0.5))
        : tf.equal(tf.argMax(yPred, -1), yTrue.shape[yTrue.shape.length - 1] === 1 ? tf.cast(tf.reshape(yTrue, [-1]), 'int32') : tf.argMax(yTrue, -1));
    return tf.sum(tf.cast(hit, 'float32')).dataSync()[0]!;
  });
}

/** Clean and adversarial accuracy over a stream of batches (argmax; p > 0.5 for one sigmoid output). Disposes the batches. */
export async function robustAccuracy(model: AttackModel, data: () => AsyncIterable<Batch>, attack: Attack | AttackConfig): Promise<RobustAccuracy> {
  const run = typeof attack === 'function' ? attack : createAttack(attack);
  let clean = 0;
  let robust = 0;
  let samples = 0;
  for await (const batch of data()) {
    try {
      if (!(batch.xs instanceof tf.Tensor) || !(batch.ys instanceof tf.Tensor)) {
        throw new TfpipeError('E_USAGE', 'robustAccuracy handles single-input, single-output batches');
      }
      const { xs, ys } = batch;
      const adv = run(model, xs, ys);
      const p = output(model.predict(xs));
      const pa = output(model.predict(adv));
      clean += correct(ys, p);
      robust += correct(ys, pa);
      samples += xs.shape[0]!;
      tf.dispose([adv, p, pa]);
    } finally {
      const all = [batch.xs, batch.ys, batch.sampleWeight].flatMap((t) => (t === undefined ? [] : t instanceof tf.Tensor ? [t] : Object.values(t)));
      tf.dispose(all);
    }
  }
  return { accuracy: samples ? clean / samples : Number.NaN, robustAccuracy: samples ? robust / samples : Number.NaN, samples };
}

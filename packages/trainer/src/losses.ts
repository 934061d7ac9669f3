import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { LOSS_NAMES, type LossName, TfpipeError, didYouMean } from '@tfpipe/core';

export { LOSS_NAMES, type LossName } from '@tfpipe/core';

/**
 * A custom loss: per-sample values of shape [batch] (so sample and class weights apply), or a scalar.
 * Runs inside the trainer's gradient tape.
 */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export const lossNameSchema = z.enum(LOSS_NAMES);
export const lossSchema = z
  .union([lossNameSchema, z.record(z.string(), lossNameSchema), z.custom<LossFn>((v) => typeof v === 'function', 'a loss function')])
  .describe('Loss name, one per named output, or (from TypeScript) a function; default from the task');
export type LossConfig = z.infer<typeof lossSchema>;

// Keras's epsilon for clipping probabilities before the log.
const EPS = 1e-7;

function smooth(y: tf.Tensor, eps: number, binary: boolean): tf.Tensor {
  if (eps === 0) return y;
  const k = binary ? 2 : (y.shape[y.rank - 1] ?? 1);
  return tf.add(tf.mul(y, 1 - eps), eps / k);
}

/** Sparse labels [batch] or [batch, 1] → one-hot [batch, classes]. */
export function sparseToOneHot(yTrue: tf.Tensor, classes: number): tf.Tensor {
  const idx = tf.cast(yTrue.rank > 1 ? tf.reshape(yTrue, [-1]) : yTrue, 'int32') as tf.Tensor1D;
  return tf.oneHot(idx, classes);
}

/**
 * Per-sample loss values, shape [batch]. Predictions are probabilities (softmax / sigmoid heads),
 * as tfjs-layers and Keras compute them. Label smoothing applies to the cross-entropies only.
 */
export function perSampleLoss(name: LossName, yTrue: tf.Tensor, yPred: tf.Tensor, labelSmoothing = 0): tf.Tensor {
  return tf.tidy(() => {
    const last = yPred.rank - 1;
    switch (name) {
      case 'categoricalCrossentropy':
      case 'sparseCategoricalCrossentropy': {
        const y = name === 'sparseCategoricalCrossentropy' ? sparseToOneHot(yTrue, yPred.shape[last]!) : tf.cast(yTrue, 'float32');
        const p = tf.clipByValue(yPred, EPS, 1 - EPS);
        return tf.neg(tf.sum(tf.mul(smooth(y, labelSmoothing, false), tf.log(p)), last));
      }
      case 'binaryCrossentropy': {
        const y = smooth(tf.cast(yTrue, 'float32'), labelSmoothing, true);
        const p = tf.clipByValue(yPred, EPS, 1 - EPS);
        const ll = tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))));
        return tf.neg(yPred.rank > 1 ? tf.mean(ll, last) : ll);
      }
      case 'meanSquaredError': {
        const d = tf.square(tf.sub(yPred, yTrue));
        return yPred.rank > 1 ? tf.mean(d, last) : d;
      }
      case 'meanAbsoluteError': {
        const d = tf.abs(tf.sub(yPred, yTrue));
        return yPred.rank > 1 ? tf.mean(d, last) : d;
      }
    }
  });
}

/** Resolves a loss name with a did-you-mean error. */
export function checkLossName(name: string, path: (string | number)[]): LossName {
  if ((LOSS_NAMES as readonly string[]).includes(name)) return name as LossName;
  const suggestion = didYouMean(name, LOSS_NAMES);
  throw TfpipeError.fromIssues([
    {
      path,
      message: 'unknown loss',
      received: name,
      expected: LOSS_NAMES.map((n) => JSON.stringify(n)).join(' | '),
      ...(suggestion ? { suggestion } : {}),
    },
  ]);
}

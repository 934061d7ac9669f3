import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { LOSS_NAMES, type LossName, TfpipeError, didYouMean } from '@tfpipe/core';

/**
 * The loss of one shard: the mean over the shard's samples (times their sample weights), summed over the
 * model's outputs, plus anything that does not depend on the data (regularization). Shard means combine
 * into the batch mean by weighting each with its sample count, so the loss must divide by the number of
 * samples, not by the sum of the sample weights.
 */
export type ShardLoss = (yTrue: tf.Tensor[], yPred: tf.Tensor[], sampleWeight?: tf.Tensor) => tf.Scalar;

/** Builds the shard loss inside each thread from `options` (JSON-cloneable) and that thread's replica. */
export type ShardLossFactory = (model: tfl.LayersModel, options: unknown) => ShardLoss | Promise<ShardLoss>;

/** The built-in losses a thread can rebuild by name: the trainer's own (core's LOSS_NAMES). */
export const SHARD_LOSS_NAMES = LOSS_NAMES;
export type ShardLossName = LossName;

/**
 * A loss every thread can rebuild: a built-in name, or a module (an absolute file URL/path, or a specifier
 * that resolves from this package) whose export `export` (default `createShardLoss`) is a `ShardLossFactory`.
 * Functions cannot be passed: workers cannot receive closures.
 */
export type ShardLossSpec = ShardLossName | { module: string; export?: string; options?: unknown };

// Keras's epsilon for clipping probabilities before the log.
const EPS = 1e-7;

/** Per-sample values, shape [batch]; predictions are probabilities (softmax / sigmoid heads), as in Keras. */
function perSample(name: ShardLossName, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const last = yPred.rank - 1;
  const meanLast = (t: tf.Tensor) => (t.rank > 1 ? tf.mean(t, last) : t);
  switch (name) {
    case 'categoricalCrossentropy':
    case 'sparseCategoricalCrossentropy': {
      const y =
        name === 'sparseCategoricalCrossentropy'
          ? tf.oneHot(tf.cast(tf.reshape(yTrue, [-1]), 'int32') as tf.Tensor1D, yPred.shape[last]!)
          : tf.cast(yTrue, 'float32');
      return tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(yPred, EPS, 1 - EPS))), last));
    }
    case 'binaryCrossentropy': {
      const y = tf.cast(yTrue, 'float32');
      const p = tf.clipByValue(yPred, EPS, 1 - EPS);
      return tf.neg(meanLast(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))))));
    }
    case 'meanSquaredError':
      return meanLast(tf.square(tf.sub(yPred, yTrue)));
    case 'meanAbsoluteError':
      return meanLast(tf.abs(tf.sub(yPred, yTrue)));
  }
}

/** The built-in shard loss `name`: per-sample loss, times sample weights, mean over samples, summed over outputs. */
export function namedShardLoss(name: ShardLossName): ShardLoss {
  return (yTrue, yPred, sampleWeight) =>
    tf.tidy(() => {
      let total: tf.Tensor = tf.scalar(0);
      yPred.forEach((p, i) => {
        let l = perSample(name, yTrue[i]!, p);
        if (l.rank > 1) l = tf.mean(tf.reshape(l, [l.shape[0]!, -1]), 1);
        total = tf.add(total, tf.mean(sampleWeight ? tf.mul(l, tf.reshape(sampleWeight, [-1])) : l));
      });
      return total as tf.Scalar;
    });
}

/** Checks a spec where it is given (before any worker starts); returns it unchanged. */
export function checkShardLossSpec(spec: unknown, path: (string | number)[]): ShardLossSpec {
  if (typeof spec === 'string') {
    if ((SHARD_LOSS_NAMES as readonly string[]).includes(spec)) return spec as ShardLossName;
    const suggestion = didYouMean(spec, SHARD_LOSS_NAMES);
    throw TfpipeError.fromIssues(
      [{ path, message: 'unknown loss', received: spec, expected: SHARD_LOSS_NAMES.map((n) => `"${n}"`).join(' | '), ...(suggestion ? { suggestion } : {}) }],
      'E_USAGE',
    );
  }
  if (spec && typeof spec === 'object' && typeof (spec as { module?: unknown }).module === 'string') {
    const extra = Object.keys(spec).filter((k) => !['module', 'export', 'options'].includes(k));
    const exp = (spec as { export?: unknown }).export;
    if (extra.length === 0 && (exp === undefined || typeof exp === 'string')) return spec as ShardLossSpec;
  }
  throw TfpipeError.fromIssues(
    [
      {
        path,
        message: typeof spec === 'function' ? 'a loss function cannot be sent to worker threads' : 'not a loss',
        received: typeof spec === 'function' ? '[function]' : spec,
        expected: `${SHARD_LOSS_NAMES.map((n) => `"${n}"`).join(' | ')} | { module: string; export?: string; options?: unknown } (a module exporting a ShardLossFactory)`,
      },
    ],
    'E_USAGE',
  );
}

/** Builds the loss in the calling thread (main or worker) for its replica. */
export async function resolveShardLoss(spec: ShardLossSpec, model: tfl.LayersModel): Promise<ShardLoss> {
  if (typeof spec === 'string') return namedShardLoss(spec);
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const name = spec.export ?? 'createShardLoss';
  const factory = mod[name];
  if (typeof factory !== 'function') {
    const known = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new TfpipeError('E_USAGE', `loss module ${spec.module} has no function export "${name}"; its functions: ${known.join(', ') || 'none'}`, {
      path: ['loss', 'export'],
    });
  }
  return (factory as ShardLossFactory)(model, spec.options);
}

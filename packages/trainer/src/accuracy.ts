import * as tf from '@tensorflow/tfjs-core';
import { type StreamingMetric, type TaskSpec, TfpipeError, didYouMean } from '@tfpipe/core';

/**
 * Accuracy as a StreamingMetric, for standalone use (the pipeline passes @tfpipe/evaluate's metrics).
 * Categorical (argmax, [batch, k] with k > 1) or binary (p > 0.5, as Keras binary_accuracy) from the
 * prediction's shape; sparse labels ([batch] or [batch, 1] integers) work with categorical predictions.
 */
export function accuracyMetric(name = 'accuracy'): StreamingMetric {
  let correct = 0;
  let total = 0;
  return {
    name,
    direction: 'max',
    update(yTrue, yPred, sampleWeight) {
      const [hit, w] = tf.tidy(() => {
        const k = yPred.rank > 1 ? yPred.shape[yPred.rank - 1]! : 1;
        let ok: tf.Tensor;
        if (k > 1) {
          const pred = tf.argMax(yPred, -1);
          const truth = yTrue.rank === yPred.rank && yTrue.shape[yTrue.rank - 1] === k ? tf.argMax(yTrue, -1) : tf.cast(tf.reshape(yTrue, pred.shape), 'int32');
          ok = tf.cast(tf.equal(pred, truth), 'float32');
        } else {
          const p = tf.greater(tf.reshape(yPred, [-1]), 0.5);
          const t = tf.greater(tf.reshape(yTrue, [-1]), 0.5);
          ok = tf.cast(tf.equal(p, t), 'float32');
        }
        const weight = sampleWeight ? tf.reshape(sampleWeight, [-1]) : tf.onesLike(ok);
        return [tf.sum(tf.mul(ok, weight)), tf.sum(weight)];
      });
      const [h, n] = [hit.dataSync()[0]!, w.dataSync()[0]!];
      hit.dispose();
      w.dispose();
      correct += h;
      total += n;
    },
    result: () => (total === 0 ? 0 : correct / total),
    reset() {
      correct = 0;
      total = 0;
    },
  };
}

/** The metrics the trainer knows by itself (used when `fit` gets metric names but no `metrics` factory). */
export const BUILTIN_METRICS: Record<string, (task?: TaskSpec) => StreamingMetric> = {
  accuracy: () => accuracyMetric('accuracy'),
};

/** Builds built-in metrics by name, or E_CONFIG naming the known ones. */
export function builtinMetrics(names: readonly string[], task?: TaskSpec): StreamingMetric[] {
  return names.map((n, i) => {
    const make = BUILTIN_METRICS[n];
    if (make) return make(task);
    const known = Object.keys(BUILTIN_METRICS);
    const suggestion = didYouMean(n, known);
    throw TfpipeError.fromIssues([
      {
        path: ['train', 'metrics', i],
        message: 'is not a built-in trainer metric; pass `metrics` (e.g. from @tfpipe/evaluate) for others',
        received: n,
        expected: known.map((k) => JSON.stringify(k)).join(' | '),
        ...(suggestion ? { suggestion } : {}),
      },
    ]);
  });
}

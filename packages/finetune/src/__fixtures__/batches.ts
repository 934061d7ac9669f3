import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '@tfpipe/core';

/** Batches of { xs, ys } from flat arrays: x [n, ...shape], y one-hot over `classes`. A fresh pass per call. */
export function batchesOf(x: Float32Array, y: Int32Array, shape: number[], classes: number, batchSize = 32): () => AsyncIterable<Batch> {
  const per = shape.reduce((a, b) => a * b, 1);
  const n = y.length;
  return async function* () {
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      yield {
        xs: tf.tensor(x.subarray(i * per, (i + m) * per), [m, ...shape]),
        ys: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(y.subarray(i, i + m), 'int32'), classes), 'float32')),
      };
    }
  };
}

/** Plain JS matmul [n, k] x [k, m] (a reference for checks). */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * m + j]!;
    out[i * m + j] = s;
  }
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '@tfpipe/core';
import { tinyDataset } from '@tfpipe/test-utils';

/** tinyDataset as one-hot batches; a seeded order per epoch when `seed` is given. */
export function tinyBatches(opts: { n?: number; batchSize?: number; classes?: number; dataSeed?: number; sampleWeight?: boolean; shiftLabels?: number } = {}) {
  const d = tinyDataset(opts.n ?? 48, 4, opts.classes ?? 3, opts.dataSeed ?? 7);
  const bs = opts.batchSize ?? 8;
  return (ctx?: { seed: number }): AsyncIterable<Batch> =>
    (async function* () {
      const order = Array.from({ length: d.n }, (_, i) => i);
      if (ctx) {
        let s = ctx.seed >>> 0;
        for (let i = order.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          const j = s % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let start = 0; start < d.n; start += bs) {
        const idx = order.slice(start, start + bs);
        const x = new Float32Array(idx.length * d.dim);
        idx.forEach((r, k) => {
          x.set(d.x.subarray(r * d.dim, (r + 1) * d.dim), k * d.dim);
        });
        const labels = Int32Array.from(idx.map((r) => (d.y[r]! + (opts.shiftLabels ?? 0)) % d.classes));
        const batch: Batch = {
          xs: tf.tensor2d(x, [idx.length, d.dim]),
          ys: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), d.classes)),
        };
        if (opts.sampleWeight) batch.sampleWeight = tf.ones([idx.length]) as tf.Tensor1D;
        yield batch;
      }
    })();
}

import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@tfpipe/core';
import { disposeAttributions, gradCam, integratedGradients } from '@tfpipe/explain';
import { benchData } from '../training/data.js';
import { buildModel } from '../training/models.js';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

/**
 * Explains MNIST digits one at a time, as the report and POST /explain do: integrated gradients (50 steps,
 * Gauss-Legendre, one model call of 50 path points per digit) and Grad-CAM (last convolution). The CNN is the
 * mnist-cnn workload's, trained one epoch on 2,048 digits so its gradients are a trained model's.
 */
export const workload: Workload = {
  name: 'explain-mnist',
  description: 'MNIST CNN: integrated gradients (50 steps) and Grad-CAM, ms per example (one digit at a time)',
  wasmThreads: 'auto', // a convolutional model: every core (wasmThreadsFor)
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const backend = opts.backend ?? 'wasm';
    const choice = await useBackend(backend as 'wasm' | 'cpu');
    const model = buildModel('mnist-cnn');
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
    const train = benchData('mnist-cnn', opts.quick ? 256 : 2048);
    await model.fit(train.xs, train.ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([train.xs, train.ys]);
    const n = opts.quick ? 10 : 100;
    // The digits after the training ones (the bench reads the training IDX file).
    const all = benchData('mnist-cnn', 2048 + 3 + n);
    const xs = tf.slice(all.xs, 2048, n);
    tf.dispose([all.xs, all.ys]);
    const digit = (i: number) => tf.slice(xs, i, 1);

    // Warm-up (kernels compiled, buffers sized), not timed.
    for (let i = 0; i < 3; i++) {
      const d = digit(i);
      disposeAttributions(integratedGradients(model, d, { steps: 50 }));
      gradCam(model, d).heatmap.dispose();
      d.dispose();
    }
    let igMs = 0;
    let camMs = 0;
    let maxGap = 0;
    let sumGap = 0;
    for (let i = 0; i < n; i++) {
      const d = digit(i);
      let t = performance.now();
      const r = integratedGradients(model, d, { steps: 50 });
      igMs += performance.now() - t;
      maxGap = Math.max(maxGap, r.gap[0]!);
      sumGap += r.gap[0]!;
      disposeAttributions(r);
      t = performance.now();
      const cam = gradCam(model, d);
      cam.heatmap.dataSync();
      camMs += performance.now() - t;
      cam.heatmap.dispose();
      d.dispose();
    }
    xs.dispose();
    model.dispose();
    return [
      {
        workload: 'explain-mnist',
        backend: choice.name,
        examples: n,
        igMsPerExample: Number((igMs / n).toFixed(1)),
        gradCamMsPerExample: Number((camMs / n).toFixed(1)),
        igMeanGap: Number((sumGap / n).toFixed(5)),
        igMaxGap: Number((maxGap / 1).toFixed(5)),
      },
    ];
  },
};

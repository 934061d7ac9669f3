import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { wasmThreadsInUse } from '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import { dpSgdGradients } from '@tfpipe/trainer';
import type { BenchOptions, BenchResult, Workload } from '../types.js';
import { benchData } from '../training/data.js';
import { buildModel } from '../training/models.js';

const BATCH = 64;

/**
 * DP-SGD's cost: steps/s of an ordinary training step and of a private one (per-example clipping to 1.0,
 * noise 1.1) on the MNIST CNN, same batch, same optimizer, same backend; every timed pass is reported.
 */
export const workload: Workload = {
  name: 'dp-sgd',
  description: 'MNIST CNN, batch 64: ordinary vs DP-SGD (per-example clipping + noise) training steps/s, and their ratio',
  optIn: true,
  wasmThreads: 'auto',
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const backend = opts.backend ?? 'wasm';
    await useBackend(backend as 'wasm');
    const model = buildModel('mnist-cnn');
    const steps = opts.quick ? 3 : 12;
    const data = benchData('mnist-cnn', BATCH * steps);
    const optimizer = tf.train.adam(1e-3);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const lossOf = (b: { xs: tf.Tensor | Record<string, tf.Tensor>; ys: tf.Tensor | Record<string, tf.Tensor> }) =>
      tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(b.ys as tf.Tensor, model.apply(b.xs as tf.Tensor, { training: true }) as tf.Tensor)) as tf.Scalar);
    const batchAt = (i: number) => ({ xs: data.xs.slice(i * BATCH, BATCH), ys: data.ys.slice(i * BATCH, BATCH) });
    const ordinary = async (i: number) => {
      const b = batchAt(i);
      const { value, grads } = tf.variableGrads(() => lossOf(b), vars);
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      await value.data();
      tf.dispose([value, b.xs, b.ys, ...Object.values(grads)]);
    };
    const priv = async (i: number) => {
      const b = batchAt(i);
      const r = dpSgdGradients(vars, b, lossOf, { l2NormClip: 1, noiseMultiplier: 1.1, seed: 1, step: i });
      optimizer.applyGradients(r.grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      await r.loss.data();
      tf.dispose([r.loss, r.clipped, b.xs, b.ys, ...Object.values(r.grads)]);
    };
    const time = async (fn: (i: number) => Promise<void>) => {
      await fn(0); // warm-up
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await fn(i);
      return (steps * BATCH) / ((performance.now() - t0) / 1000);
    };
    const out: BenchResult[] = [];
    for (let pass = 1; pass <= 3; pass++) {
      const plain = await time(ordinary);
      const dp = await time(priv);
      out.push({ workload: 'dp-sgd', backend, threads: wasmThreadsInUse(), pass, batch: BATCH, ordinarySamplesPerSec: plain, privateSamplesPerSec: dp, slowdown: plain / dp });
    }
    tf.dispose([data.xs, data.ys]);
    return out;
  },
};

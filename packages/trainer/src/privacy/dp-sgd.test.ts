import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from '@tfpipe/core';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SliceLoss, dpSgdGradients, microbatchBounds, perExampleGradientNorms } from './dp-sgd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small real CNN (conv + dense), seeded, on random images with 3 classes. */
function cnn(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

function batch(n: number, seed = 5): Batch {
  return tf.tidy(() => ({
    xs: tf.randomNormal([n, 6, 6, 1], 0, 1, 'float32', seed),
    ys: tf.cast(tf.oneHot(tf.randomUniform([n], 0, 3, 'int32', seed + 1) as tf.Tensor1D, 3), 'float32'),
  }));
}

function lossFor(model: tfl.LayersModel): SliceLoss {
  return (b) => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(b.ys as tf.Tensor, model.apply(b.xs as tf.Tensor, { training: true }) as tf.Tensor)) as tf.Scalar);
}

const vars = (m: tfl.LayersModel) => m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const free = (r: { loss: tf.Scalar; clipped: tf.Scalar; grads: tf.NamedTensorMap }) => tf.dispose([r.loss, r.clipped, ...Object.values(r.grads)]);
const globalNorm = (g: tf.NamedTensorMap) => tf.tidy(() => tf.sqrt(tf.addN(Object.values(g).map((t) => tf.sum(tf.square(t)))))).dataSync()[0]!;

describe('DP-SGD gradients', () => {
  it('with no noise and an infinite clip, per-example gradients average to the ordinary gradient', () => {
    const model = cnn();
    const b = batch(8);
    const v = vars(model);
    const ordinary = tf.variableGrads(() => lossFor(model)(b), v);
    const dp = dpSgdGradients(v, b, lossFor(model), { l2NormClip: Number.POSITIVE_INFINITY, noiseMultiplier: 0, seed: 1, step: 0 });
    expect(dp.microbatches).toBe(8);
    expect(dp.clipped.dataSync()[0]).toBe(0);
    for (const w of v) expectTensorsClose(dp.grads[w.name]!, ordinary.grads[w.name]!, 1e-6, 1e-4);
    expectTensorsClose(dp.loss, ordinary.value, 1e-6, 1e-5);
    tf.dispose([ordinary.value, ...Object.values(ordinary.grads), b.xs as tf.Tensor, b.ys as tf.Tensor]);
    free(dp);
  });

  it('clipping bounds every per-example gradient norm by l2NormClip (and leaves short ones as they are)', () => {
    const model = cnn();
    const v = vars(model);
    const b = batch(10, 9);
    const norms = perExampleGradientNorms(v, b, lossFor(model));
    const C = [...norms].sort((a, z) => a - z)[5]!; // the median: half the examples are clipped
    for (let i = 0; i < 10; i++) {
      const one: Batch = { xs: tf.slice(b.xs as tf.Tensor, i, 1), ys: tf.slice(b.ys as tf.Tensor, i, 1) };
      const r = dpSgdGradients(v, one, lossFor(model), { l2NormClip: C, noiseMultiplier: 0, seed: 1, step: 0, denominator: 1 });
      const n = globalNorm(r.grads);
      expect(n).toBeLessThanOrEqual(C * (1 + 1e-5));
      expect(n).toBeCloseTo(Math.min(norms[i]!, C), 4);
      free(r);
      tf.dispose([one.xs as tf.Tensor, one.ys as tf.Tensor]);
    }
    // The whole batch: the sum of clipped gradients (denominator 1) is at most n·C, and 4 of 10 exceed C.
    const all = dpSgdGradients(v, b, lossFor(model), { l2NormClip: C, noiseMultiplier: 0, seed: 1, step: 0, denominator: 1 });
    expect(all.clipped.dataSync()[0]).toBe(norms.filter((x) => x > C).length);
    expect(globalNorm(all.grads)).toBeLessThanOrEqual(10 * C * (1 + 1e-5));
    free(all);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });

  it('adds Gaussian noise of std noiseMultiplier x l2NormClip / denominator (statistical test, fixed seed)', () => {
    const model = cnn();
    const v = vars(model);
    const b = batch(4);
    const opts = { l2NormClip: 0.5, seed: 3, step: 7, microbatches: 2 } as const;
    const clean = dpSgdGradients(v, b, lossFor(model), { ...opts, noiseMultiplier: 0 });
    const noisy = dpSgdGradients(v, b, lossFor(model), { ...opts, noiseMultiplier: 1.3 });
    const expectedStd = (1.3 * 0.5) / 2;
    const diffs: number[] = [];
    for (const w of v) {
      const d = tf.sub(noisy.grads[w.name]!, clean.grads[w.name]!);
      diffs.push(...d.dataSync());
      d.dispose();
    }
    const n = diffs.length; // 4*9 + 4 + 64*3 + 3 = 235 weights
    const mean = diffs.reduce((a, x) => a + x, 0) / n;
    const std = Math.sqrt(diffs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
    // Sample std of n normals: relative standard error ~ 1/sqrt(2n) = 4.6%; allow 4 of them.
    expect(Math.abs(std / expectedStd - 1)).toBeLessThan(4 / Math.sqrt(2 * n));
    expect(Math.abs(mean)).toBeLessThan((4 * expectedStd) / Math.sqrt(n));
    free(clean);
    free(noisy);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });

  it('the same seed and step give the same noise; another step gives other noise', () => {
    const model = cnn();
    const v = vars(model);
    const b = batch(4);
    const run = (step: number) => dpSgdGradients(v, b, lossFor(model), { l2NormClip: 1, noiseMultiplier: 1, seed: 9, step });
    const [a, a2, c] = [run(1), run(1), run(2)];
    const w = v[0]!.name;
    expect(Array.from(a.grads[w]!.dataSync())).toEqual(Array.from(a2.grads[w]!.dataSync()));
    expect(Array.from(a.grads[w]!.dataSync())).not.toEqual(Array.from(c.grads[w]!.dataSync()));
    for (const r of [a, a2, c]) free(r);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });

  it('microbatch bounds cover the batch in near-equal contiguous slices', () => {
    expect(microbatchBounds(10, 4)).toEqual([
      [0, 3],
      [3, 3],
      [6, 2],
      [8, 2],
    ]);
    expect(microbatchBounds(3, 8)).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
  });

  it('leaks no tensors', async () => {
    const model = cnn();
    const v = vars(model);
    const b = batch(4);
    await expectNoLeakedTensors(() => free(dpSgdGradients(v, b, lossFor(model), { l2NormClip: 1, noiseMultiplier: 1, seed: 1, step: 0, microbatches: 2 })));
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });
});

describe('Poisson sampling', () => {
  it('includes each example with probability q, independently per step, and repeats per seed', async () => {
    const { poissonBatchIndices } = await import('./sampling.js');
    const n = 2000;
    const q = 0.05;
    const batches = poissonBatchIndices(n, q, 400, 'e1');
    const counts = new Array<number>(n).fill(0);
    for (const b of batches) {
      for (let k = 1; k < b.length; k++) expect(b[k]!).toBeGreaterThan(b[k - 1]!);
      for (const i of b) counts[i]!++;
    }
    const sizes = batches.map((b) => b.length);
    const mean = sizes.reduce((a, x) => a + x, 0) / sizes.length;
    // Batch size ~ Binomial(2000, 0.05): mean 100, sd 9.7; the mean of 400 batches has sd 0.49.
    expect(Math.abs(mean - 100)).toBeLessThan(2.5);
    const sd = Math.sqrt(sizes.reduce((a, x) => a + (x - mean) ** 2, 0) / (sizes.length - 1));
    expect(sd).toBeGreaterThan(8);
    expect(sd).toBeLessThan(11.5);
    // Each example appears Binomial(400, 0.05) times: mean 20; the first and last indices are as likely as the middle.
    const avg = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(Math.abs(avg(counts.slice(0, 500)) - 20)).toBeLessThan(1);
    expect(Math.abs(avg(counts.slice(-500)) - 20)).toBeLessThan(1);
    expect(poissonBatchIndices(n, q, 3, 'e1')).toEqual(batches.slice(0, 3));
    expect(poissonBatchIndices(n, q, 3, 'e2')).not.toEqual(batches.slice(0, 3));
  });
});

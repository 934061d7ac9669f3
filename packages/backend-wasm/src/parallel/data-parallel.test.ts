import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from '../register.js';
import { values } from '../test-helpers.js';
import { balancedSizes, createDataParallel, type DataParallel, shardSizes } from './data-parallel.js';
import { registerFixtureLayers } from './__fixtures__/loss-module.js';
import { namedShardLoss } from './shard-loss.js';

/*
 * Reference: one pass over the whole batch on this thread, with the loss written out here (mean over samples
 * of -sum(y log p), times sample weights), gradients by tf.variableGrads. Data-parallel must give the same.
 */

const fixtureLoss = new URL('./__fixtures__/loss-module.ts', import.meta.url).href;
const init = (seed: number) => tfl.initializers.glorotUniform({ seed });

function cnn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 1], kernelInitializer: init(1) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

function batch(n: number, seed: number): { xs: tf.Tensor; ys: tf.Tensor; sw: tf.Tensor1D } {
  const labels = Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3);
  return {
    xs: tf.tensor(values([n, 10, 10, 1], seed), [n, 10, 10, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3),
    sw: tf.tensor1d(Array.from({ length: n }, (_, i) => 0.5 + (i % 4) * 0.25)),
  };
}

function reference(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor, sw?: tf.Tensor): { loss: number; grads: Record<string, Float32Array> } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const p = tf.clipByValue(model.apply(xs, { training: true }) as tf.Tensor, 1e-7, 1 - 1e-7);
    const perSample = tf.neg(tf.sum(tf.mul(ys, tf.log(p)), -1));
    return tf.mean(sw ? tf.mul(perSample, sw) : perSample) as tf.Scalar;
  }, vars);
  const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.dataSync())])) };
  tf.dispose([value, grads]);
  return out;
}

describe('createDataParallel (wasm backend, 1 worker)', () => {
  let model: tfl.LayersModel;
  let dp: DataParallel;

  beforeAll(async () => {
    await useWasmBackend();
    model = cnn();
    dp = await createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropy' });
  });
  afterAll(async () => {
    await dp?.dispose();
    model?.dispose();
  });

  it('splits batches evenly, larger shards first', () => {
    expect(shardSizes(32, 2)).toEqual([16, 16]);
    expect(shardSizes(7, 2)).toEqual([4, 3]);
    expect(shardSizes(5, 3)).toEqual([2, 2, 1]);
    expect(shardSizes(1, 2)).toEqual([1, 0]);
    // Proportional to the rates, at least one each, the leftover to the largest remainders.
    expect(balancedSizes(32, [1, 1])).toEqual([16, 16]);
    expect(balancedSizes(32, [1, 3])).toEqual([9, 23]); // 1 + 7.5 → 8 (+1 leftover), 1 + 22.5 → 23
    expect(balancedSizes(10, [1, 1000])).toEqual([1, 9]);
    expect(balancedSizes(7, [2, 1, 1])).toEqual([3, 2, 2]);
  });

  it('the built-in loss matches a hand-computed cross-entropy', () => {
    // p = [0.7, 0.2, 0.1] (label 0), [0.25, 0.25, 0.5] (label 2): -(ln 0.7 + ln 0.5) / 2, weights 1 and 3 → -(ln 0.7 + 3 ln 0.5) / 2
    const yPred = tf.tensor2d([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]);
    const yTrue = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
    const w = tf.tensor1d([1, 3]);
    const l = namedShardLoss('categoricalCrossentropy');
    expect(l([yTrue], [yPred]).dataSync()[0]).toBeCloseTo(-(Math.log(0.7) + Math.log(0.5)) / 2, 6);
    expect(l([yTrue], [yPred], w).dataSync()[0]).toBeCloseTo(-(Math.log(0.7) + 3 * Math.log(0.5)) / 2, 6);
    tf.dispose([yPred, yTrue, w]);
  });

  it.each([
    { n: 8, weighted: false },
    { n: 7, weighted: true },
    { n: 1, weighted: false },
  ])('gradients over 2 shards equal the whole-batch gradients (batch $n, sample weights $weighted)', async ({ n, weighted }) => {
    const { xs, ys, sw } = batch(n, n);
    const ref = reference(model, xs, ys, weighted ? sw : undefined);
    const { loss, grads } = await dp.computeGradients(xs, ys, weighted ? sw : undefined);
    expect(Object.keys(grads).sort()).toEqual(Object.keys(ref.grads).sort());
    expect(loss.dataSync()[0]).toBeCloseTo(ref.loss, 5);
    for (const [name, g] of Object.entries(grads)) expectTensorsClose(g, ref.grads[name]!, 1e-5, 1e-4);
    tf.dispose([loss, grads, xs, ys, sw]);
  });

  it('returns the batch predictions in order when asked', async () => {
    const { xs, ys } = batch(7, 4);
    const r = await dp.computeGradients(xs, ys, undefined, { predictions: true });
    const expected = model.apply(xs, { training: true }) as tf.Tensor;
    expectTensorsClose(r.predictions!, expected, 1e-6, 1e-5);
    tf.dispose([r.loss, r.grads, r.predictions!, expected, xs, ys]);
  });

  it('three Adam steps match single-thread training', async () => {
    const single = cnn();
    single.setWeights(model.getWeights());
    const before = model.getWeights()[0]!.clone();
    const optA = tf.train.adam(0.01);
    const optB = tf.train.adam(0.01);
    const varsA = single.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let step = 0; step < 3; step++) {
      const { xs, ys } = batch(9, 20 + step);
      const { value, grads } = tf.variableGrads(() => namedShardLoss('categoricalCrossentropy')([ys], [single.apply(xs, { training: true }) as tf.Tensor]), varsA);
      optA.applyGradients(grads as unknown as Parameters<typeof optA.applyGradients>[0]);
      const r = await dp.computeGradients(xs, ys);
      optB.applyGradients(r.grads as unknown as Parameters<typeof optA.applyGradients>[0]);
      tf.dispose([value, grads, r.loss, r.grads, xs, ys]);
    }
    const a = single.getWeights();
    const b = model.getWeights();
    for (const [i, w] of a.entries()) expectTensorsClose(b[i]!, w, 1e-5, 1e-4);
    // The steps moved the weights: the comparison is not between two untouched models.
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(a[0]!, before))));
    expect(moved.dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([moved, before]);
    optA.dispose();
    optB.dispose();
    single.dispose();
  });

  it('leaks no tensors', async () => {
    const { xs, ys, sw } = batch(6, 3);
    await expectNoLeakedTensors(async () => {
      const r = await dp.computeGradients(xs, ys, sw);
      tf.dispose([r.loss, r.grads]);
      const p = await dp.computeGradients(xs, ys, sw, { predictions: true });
      tf.dispose([p.loss, p.grads, p.predictions!]);
    });
    tf.dispose([xs, ys, sw]);
  });

  it('rejects a loss that cannot reach a worker, with the allowed ones', async () => {
    await expect(createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropi' as 'categoricalCrossentropy' })).rejects.toThrow(/categoricalCrossentropy/);
    const fn = (() => tf.scalar(0)) as unknown as 'meanSquaredError';
    await expect(createDataParallel(model, { workers: 1, loss: fn })).rejects.toThrow(/cannot be sent to worker threads/);
    await expect(createDataParallel(model, { workers: -1, loss: 'meanSquaredError' })).rejects.toThrow(/integer >= 0/);
  });
});

describe('createDataParallel with custom layers and a loss module', () => {
  it('workers import setup modules, rebuild the custom layer, and use the loss factory', async () => {
    await useWasmBackend();
    registerFixtureLayers();
    const { FixtureScale } = await import('./__fixtures__/loss-module.js');
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 2, inputShape: [4], kernelInitializer: init(5) }), new FixtureScale({})],
    });
    const xs = tf.tensor2d(values([5, 4], 9), [5, 4]);
    const ys = tf.tensor2d(values([5, 2], 10), [5, 2]);
    const sw = tf.tensor1d([1, 2, 1, 0.5, 1]);
    const dp = await createDataParallel(model, {
      workers: 1,
      loss: { module: fixtureLoss, options: { l2: 0.1 } },
      setup: [{ module: fixtureLoss, call: 'registerFixtureLayers' }],
    });
    try {
      // Reference written out: mean(w * sum((y' - y)^2)) + 0.1 * sum(kernel^2).
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const ref = tf.variableGrads(() => {
        const se = tf.sum(tf.square(tf.sub(model.apply(xs) as tf.Tensor, ys)), -1);
        return tf.add(tf.mean(tf.mul(se, sw)), tf.mul(0.1, tf.sum(tf.square(vars[0]!)))) as tf.Scalar;
      }, vars);
      const r = await dp.computeGradients(xs, ys, sw);
      expect(Object.keys(r.grads)).toHaveLength(3); // kernel, bias, scale
      expect(r.loss.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0]!, 5);
      for (const v of vars) expectTensorsClose(r.grads[v.name]!, ref.grads[v.name]!, 1e-5, 1e-4);
      tf.dispose([ref.value, ref.grads, r.loss, r.grads]);
    } finally {
      await dp.dispose();
      tf.dispose([xs, ys, sw]);
      model.dispose();
    }
  });

  it('a process with a disposed and a forgotten helper exits on its own', () => {
    const script = fileURLToPath(new URL('./__fixtures__/exit-script.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--conditions=@tfpipe/source', '--import', 'tsx', script], { encoding: 'utf8', timeout: 50_000 });
    expect(r.error).toBeUndefined();
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^loss \d/gm)).toHaveLength(2);
  });
});

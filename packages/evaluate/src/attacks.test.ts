import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, oneHot, trainTinyMnist } from './__fixtures__/mnist.js';
import { fgsm, pgd, robustAccuracy } from './attacks.js';

let model: tfl.LayersModel;
const test = loadMnist('t10k', 200);

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await trainTinyMnist();
});

function accuracy(x: tf.Tensor, y: Int32Array): number {
  const pred = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, -1).dataSync() as Int32Array);
  return pred.reduce((s: number, p: number, i: number) => s + (p === y[i] ? 1 : 0), 0) / y.length;
}

function* batches(size: number): Generator<Batch> {
  for (let i = 0; i < test.n; i += size) {
    const m = Math.min(size, test.n - i);
    yield { xs: tf.tensor2d(test.x.subarray(i * 784, (i + m) * 784), [m, 784]), ys: oneHot(test.y.subarray(i, i + m), 10) };
  }
}
const data = () => (async function* () { yield* batches(50); })();

describe('attacks on a small MNIST model', () => {
  it('FGSM lowers accuracy and stays within epsilon and the valid range', () => {
    const x = tf.tensor2d(test.x, [test.n, 784]);
    const y = oneHot(test.y, 10);
    const clean = accuracy(x, test.y);
    expect(clean).toBeGreaterThan(0.8);
    const adv = fgsm(model, x, y, { epsilon: 0.1 });
    const attacked = accuracy(adv, test.y);
    expect(attacked).toBeLessThan(clean - 0.3);
    const [linf, min, max] = tf.tidy(() => [tf.max(tf.abs(tf.sub(adv, x))), tf.min(adv), tf.max(adv)].map((t) => t.dataSync()[0]!));
    expect(linf).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(linf).toBeGreaterThan(0.09);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    tf.dispose([x, y, adv]);
  });

  it('PGD is at least as strong as FGSM, within epsilon, and seeded', () => {
    const x = tf.tensor2d(test.x.subarray(0, 100 * 784), [100, 784]);
    const yIdx = test.y.subarray(0, 100);
    const y = oneHot(yIdx, 10);
    const opts = { epsilon: 0.1, steps: 5, stepSize: 0.04, seed: 3 };
    const a = pgd(model, x, y, opts);
    const b = pgd(model, x, y, opts);
    const f = fgsm(model, x, y, { epsilon: 0.1 });
    expect(accuracy(a, yIdx)).toBeLessThanOrEqual(accuracy(f, yIdx));
    const [linf, min, max, same] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a, x))), tf.min(a), tf.max(a), tf.max(tf.abs(tf.sub(a, b)))].map((t) => t.dataSync()[0]!));
    expect(linf).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(same).toBe(0);
    tf.dispose([x, y, a, b, f]);
  });

  it('robustAccuracy reports clean and attacked accuracy', async () => {
    const r = await robustAccuracy(model, data, { type: 'fgsm', epsilon: 0.1 });
    expect(r.samples).toBe(200);
    const x = tf.tensor2d(test.x, [test.n, 784]);
    expect(r.accuracy).toBeCloseTo(accuracy(x, test.y), 10);
    x.dispose();
    expect(r.robustAccuracy).toBeLessThan(r.accuracy - 0.3);
  });

  it('leaks no tensors', async () => {
    const x = tf.tensor2d(test.x.subarray(0, 20 * 784), [20, 784]);
    const y = oneHot(test.y.subarray(0, 20), 10);
    await expectNoLeakedTensors(() => {
      fgsm(model, x, y, { epsilon: 0.05 }).dispose();
      pgd(model, x, y, { epsilon: 0.05, steps: 2, stepSize: 0.02 }).dispose();
    });
    await expectNoLeakedTensors(() => robustAccuracy(model, data, { type: 'pgd', epsilon: 0.05, steps: 2 }), 1);
    tf.dispose([x, y]);
  });

  it('rejects a bad epsilon or clip range', () => {
    const x = tf.zeros([1, 784]);
    const y = oneHot(Int32Array.of(3), 10);
    expect(() => fgsm(model, x, y, { epsilon: -1 })).toThrow(/epsilon/);
    expect(() => fgsm(model, x, y, { epsilon: 0.1, clipMin: 1, clipMax: 0 })).toThrow(/clipMin < clipMax/);
    tf.dispose([x, y]);
  });
});

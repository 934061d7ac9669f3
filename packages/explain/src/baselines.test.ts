import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianBlur, trainingMean } from './baselines.js';

beforeAll(() => tf.setBackend('cpu'));

describe('baselines', () => {
  it('trainingMean is the per-sample mean over every batch, per input', async () => {
    const batches = [
      { a: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([10, 20]) },
      { a: tf.tensor2d([[5, 6]]), b: tf.tensor1d([30]) },
    ];
    const mean = await trainingMean(batches);
    expectTensorsClose(mean.a!, [3, 4]);
    expectTensorsClose(mean.b!, [20]);
    tf.dispose([...Object.values(mean), ...batches.flatMap((b) => Object.values(b))]);
    await expect(trainingMean([])).rejects.toThrow(/no rows/);
  });

  it('a Gaussian blur keeps a constant image constant (borders renormalized) and spreads a point symmetrically', () => {
    const flat = tf.fill([1, 9, 9, 2], 0.7);
    expectTensorsClose(gaussianBlur(flat, 2), flat, 1e-5);
    const point = tf.tensor4d(Array.from({ length: 81 }, (_, i) => (i === 40 ? 1 : 0)), [1, 9, 9, 1]);
    const v = gaussianBlur(point, 1).dataSync();
    expect(v[40]!).toBeLessThan(1);
    expect(v[39]).toBeCloseTo(v[41]!, 6);
    expect(v[31]).toBeCloseTo(v[49]!, 6);
    expect(v[40]!).toBeGreaterThan(v[39]!);
    tf.dispose([flat, point]);
  });

  it('leaks no tensors', async () => {
    const img = tf.ones([2, 6, 6, 1]);
    await expectNoLeakedTensors(() => gaussianBlur(img, 1.5).dispose());
    img.dispose();
  });
});

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { fit } from '@tfpipe/trainer';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchesOf } from './__fixtures__/batches.js';
import { mnistDigits, SIDE } from './__fixtures__/mnist.js';
import { createPerturb, evaluateRobustness } from './adversarial.js';

beforeAll(() => tf.setBackend('cpu'));

const task = { kind: 'multiclass' as const, classes: 5 };
const shape = [SIDE * SIDE];
const train = mnistDigits('train', [0, 1, 2, 3, 4], 500);
const test = mnistDigits('t10k', [0, 1, 2, 3, 4], 300);

function mlp(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 32, activation: 'relu', inputShape: shape, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

describe('adversarial training', () => {
  it('replaces a seeded share of the rows with FGSM versions within epsilon, keeping the others', () => {
    const model = mlp();
    const perturb = createPerturb({ attack: 'fgsm', epsilon: 0.1, ratio: 0.5, seed: 3 });
    const xs = tf.tensor2d(train.x.subarray(0, 8 * shape[0]!), [8, shape[0]!]);
    const ys = tf.oneHot(tf.tensor1d(train.y.subarray(0, 8), 'int32'), 5);
    const out = perturb({ xs, ys }, model);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out.xs as tf.Tensor, xs)), 1).arraySync() as number[]);
    expect(diff.filter((d) => d > 0).length).toBe(4);
    for (const d of diff) expect(d).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(out.ys).toBe(ys);
    tf.dispose([xs, ys, out.xs as tf.Tensor]);
  });

  it('raises robust accuracy under FGSM on MNIST digits', async () => {
    const adversarial = { attack: 'fgsm' as const, epsilon: 0.1, ratio: 0.5 };
    const config = { epochs: 4, optimizer: { type: 'adam' as const, learningRate: 0.01 }, tensorboard: false };
    const plain = mlp();
    await fit(plain, { config, train: batchesOf(train.x, train.y, shape, 5), task });
    const robust = mlp();
    await fit(robust, { config, train: batchesOf(train.x, train.y, shape, 5), task, perturb: createPerturb(adversarial) });
    const data = batchesOf(test.x, test.y, shape, 5, 100);
    const a = await evaluateRobustness(plain, data, adversarial);
    const b = await evaluateRobustness(robust, data, adversarial);
    console.log(
      `FGSM eps 0.1 on ${a.samples} MNIST 0-4 test digits: plain clean ${a.accuracy.toFixed(3)} robust ${a.robustAccuracy.toFixed(3)}; adversarially trained clean ${b.accuracy.toFixed(3)} robust ${b.robustAccuracy.toFixed(3)}`,
    );
    expect(a.attack).toEqual({ type: 'fgsm', epsilon: 0.1, clipMin: 0, clipMax: 1 });
    expect(b.robustAccuracy).toBeGreaterThan(a.robustAccuracy + 0.1);
    expect(b.accuracy).toBeGreaterThan(0.85);
  });

  it('the perturb hook leaks no tensors', async () => {
    const model = mlp();
    const perturb = createPerturb({ attack: 'pgd', epsilon: 0.1, steps: 2, ratio: 0.5 });
    const xs = tf.tensor2d(train.x.subarray(0, 4 * shape[0]!), [4, shape[0]!]);
    const ys = tf.oneHot(tf.tensor1d(train.y.subarray(0, 4), 'int32'), 5);
    await expectNoLeakedTensors(() => {
      const out = perturb({ xs, ys }, model);
      tf.dispose(out.xs as tf.Tensor);
    });
    tf.dispose([xs, ys]);
  });
});

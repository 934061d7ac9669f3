import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { saliency, smoothGrad } from './saliency.js';

beforeAll(() => tf.setBackend('cpu'));

function mlp(seed = 5): tfl.LayersModel {
  const x = tfl.input({ shape: [3], name: 'x' });
  const h = tfl.layers
    .dense({ units: 12, activation: 'tanh', kernelInitializer: tfl.initializers.glorotNormal({ seed }) })
    .apply(x) as tfl.SymbolicTensor;
  const y = tfl.layers
    .dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) })
    .apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y });
}

const X = [
  [0.5, -1, 2],
  [1.5, 0.3, -0.7],
];

describe('saliency', () => {
  it('equals central finite differences of the model output (gradient check)', () => {
    const model = mlp();
    const x = tf.tensor2d(X);
    const s = saliency(model, x, { target: 1, abs: false });
    const f = (row: number[]) => tf.tidy(() => (model.predict(tf.tensor2d([row])) as tf.Tensor).dataSync()[1]!);
    const eps = 1e-2;
    const numeric = X.map((row) =>
      row.map((_, j) => {
        const up = row.map((v, k) => (k === j ? v + eps : v));
        const down = row.map((v, k) => (k === j ? v - eps : v));
        return (f(up) - f(down)) / (2 * eps);
      }),
    );
    expectTensorsClose(s.attributions.x!, tf.tensor2d(numeric), 2e-3, 1e-2);
    // The check is not vacuous: the gradients are far from zero.
    expect(Math.max(...numeric.flat().map(Math.abs))).toBeGreaterThan(0.05);
    const abs = saliency(model, x, { target: 1 });
    expectTensorsClose(abs.attributions.x!, tf.abs(s.attributions.x!));
    tf.dispose([x, s.attributions.x!, abs.attributions.x!]);
  });

  it('refuses token ids with a pointer to integrated gradients', () => {
    const ids = tfl.input({ shape: [3], dtype: 'int32', name: 'text' });
    const e = tfl.layers.embedding({ inputDim: 4, outputDim: 2 }).apply(ids) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: ids, outputs: tfl.layers.dense({ units: 1 }).apply(tfl.layers.flatten().apply(e)) as tfl.SymbolicTensor });
    const t = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    expect(() => saliency(m, t)).toThrow(/holds token ids/);
    t.dispose();
  });
});

describe('smoothGrad', () => {
  it('on a linear model is the weight vector whatever the noise; noise 0 equals saliency', () => {
    const x = tfl.input({ shape: [3], name: 'x' });
    const d = tfl.layers.dense({ units: 1 });
    const m = tfl.model({ inputs: x, outputs: d.apply(x) as tfl.SymbolicTensor });
    d.setWeights([tf.tensor2d([2, -1, 0.5], [3, 1]), tf.tensor1d([0])]);
    const xs = tf.tensor2d(X);
    const s = smoothGrad(m, xs, { abs: false, samples: 4, noiseLevel: 0.5, seed: 3 });
    expectTensorsClose(s.attributions.x!, tf.tensor2d([[2, -1, 0.5], [2, -1, 0.5]]), 1e-5);
    const model = mlp();
    const zero = smoothGrad(model, xs, { noiseLevel: 0, samples: 3 });
    const plain = saliency(model, xs);
    expectTensorsClose(zero.attributions.x!, plain.attributions.x!, 1e-6);
    tf.dispose([xs, s.attributions.x!, zero.attributions.x!, plain.attributions.x!]);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const model = mlp();
    const xs = tf.tensor2d(X);
    const a = smoothGrad(model, xs, { seed: 1, samples: 5 });
    const b = smoothGrad(model, xs, { seed: 1, samples: 5 });
    const c = smoothGrad(model, xs, { seed: 2, samples: 5 });
    expect(Array.from(a.attributions.x!.dataSync())).toEqual(Array.from(b.attributions.x!.dataSync()));
    expect(Array.from(a.attributions.x!.dataSync())).not.toEqual(Array.from(c.attributions.x!.dataSync()));
    tf.dispose([xs, a.attributions.x!, b.attributions.x!, c.attributions.x!]);
  });

  it('leak no tensors', async () => {
    const model = mlp();
    const xs = tf.tensor2d(X);
    await expectNoLeakedTensors(() => tf.dispose(Object.values(saliency(model, xs).attributions)));
    await expectNoLeakedTensors(() => tf.dispose(Object.values(smoothGrad(model, xs, { samples: 3 }).attributions)));
    xs.dispose();
  });
});

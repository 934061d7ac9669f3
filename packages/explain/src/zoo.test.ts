import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend } from '@tfpipe/backend-wasm';
import { createRng, type InputSpec } from '@tfpipe/core';
import { buildModel } from '@tfpipe/models';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { mnist } from './__fixtures__/mnist.js';
import { KEY, keyTokens, LEN } from './__fixtures__/tokens.js';
import { gradCam } from './grad-cam.js';
import { disposeAttributions, integratedGradients } from './integrated-gradients.js';

// The model zoo as the pipeline builds it (@tfpipe/models), on the wasm backend. One thread: the helper thread's
// chunking changes float summation order, and the trained models (hence the numbers) must not depend on it.
beforeAll(async () => {
  await useWasmBackend({ threads: 1 });
  if (tf.getBackend() !== 'wasm') throw new Error(`expected the wasm backend, got ${tf.getBackend()}`);
});

const text: InputSpec = { name: 'text', shape: [12], kind: 'text', vocabSize: 40 };
const tabular: InputSpec = { name: 'features', shape: [5], kind: 'tabular' };

/** Token ids with trailing padding (0), as the tokenizer writes them. */
function tokens(n: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  const ids: number[][] = [];
  for (let i = 0; i < n; i++) {
    const len = 4 + Math.floor(rng.next() * 8);
    ids.push(Array.from({ length: 12 }, (_, t) => (t < len ? 2 + Math.floor(rng.next() * 38) : 0)));
  }
  return tf.tensor2d(ids, undefined, 'int32');
}

describe('the MNIST CNN (examples/mnist-cnn), briefly trained on real digits', () => {
  let model: tfl.LayersModel;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    const config = {
      type: 'layers',
      layers: [
        { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2 },
        { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    };
    model = buildModel(config, {
      inputs: [{ name: 'image', shape: [28, 28, 1], kind: 'image' }],
      task: { kind: 'multiclass', classes: 10 },
      seed: 42,
    });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
    const train = mnist('train', 1024);
    const xs = tf.tensor4d(train.x, [1024, 28, 28, 1]);
    const ys = tf.oneHot(tf.tensor1d(train.y, 'int32'), 10);
    await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    x = tf.tensor4d(mnist('t10k', 6).x, [6, 28, 28, 1]);
  });

  it('IG at 50 steps: completeness gap <= 1% per digit', () => {
    const r = integratedGradients(model, x, { steps: 50 });
    expect(r.attributions.image!.shape).toEqual([6, 28, 28, 1]);
    for (const g of r.gap) expect(g).toBeLessThanOrEqual(0.01);
    disposeAttributions(r);
  });

  it('Grad-CAM picks the last convolution and gives a 28 x 28 map', () => {
    const r = gradCam(model, x);
    expect(r.layer).toBe(model.layers.filter((l) => l.getClassName() === 'Conv2D').at(-1)!.name);
    expect(r.heatmap.shape).toEqual([6, 28, 28]);
    expect(tf.tidy(() => tf.max(r.heatmap).dataSync()[0]!)).toBeGreaterThan(0);
    r.heatmap.dispose();
  });
});

describe('text models trained on a key-token task: per-token attributions through the embedding', () => {
  // The LSTM's saturated gates make the path integrand steep: 50 steps left a 1.9% gap on one example (all others
  // < 1%), 200 steps < 0.1%. The gap is reported with every result, so a user sees when to raise `steps`.
  for (const [name, config, gapSteps] of [
    ['rnn (lstm)', { type: 'rnn', cell: 'lstm', units: [8], embedding: { dim: 8 } }, 200],
    ['transformer', { type: 'transformer', embedDim: 8, numHeads: 2, ffDim: 16, blocks: 1 }, 50],
    ['cnn 1-D', { type: 'cnn', embedding: { dim: 8 }, blocks: [{ filters: 8, pooling: 'none' }] }, 50],
  ] as const) {
    it(`${name}: the key token gets the most attribution; completeness gap <= 1% at ${gapSteps} steps`, async () => {
      const model = buildModel(config, { inputs: [text], task: { kind: 'binary' }, seed: 7 });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
      const train = keyTokens(384, 1);
      const y = tf.tensor2d(train.labels, [384, 1]);
      await model.fit(train.ids, y, { epochs: 6, batchSize: 32, shuffle: false, verbose: 0 });
      tf.dispose([train.ids, y]);
      const test = keyTokens(16, 2);
      const positives = test.labels.flatMap((l, i) => (l === 1 ? [i] : []));
      const ids = tf.gather(test.ids, positives);
      const r = integratedGradients(model, ids, { steps: gapSteps, logits: true });
      const a = r.attributions.text!;
      expect(a.shape).toEqual([positives.length, LEN]);
      for (const g of r.gap) expect(g).toBeLessThanOrEqual(0.01);
      // The label is "the key token is present": the top token of every positive is the key token.
      const values = a.arraySync() as number[][];
      values.forEach((row, i) => {
        const top = row.indexOf(Math.max(...row));
        expect(test.rows[positives[i]!]![top]).toBe(KEY);
      });
      // Padding is its own baseline position: exactly 0 where the model masks it (maskZero embedding).
      if (name === 'rnn (lstm)') {
        values.forEach((row, i) => {
          row.forEach((v, t) => {
            if (test.rows[positives[i]!]![t] === 0) expect(Math.abs(v)).toBeLessThan(1e-6);
          });
        });
      }
      disposeAttributions(r);
      await expectNoLeakedTensors(() => disposeAttributions(integratedGradients(model, ids, { steps: 8 })), 1);
      tf.dispose([ids, test.ids]);
      model.dispose();
    });
  }
});

describe('multi-input fusion: how much each input mattered', () => {
  it('text + tabular: one attribution per input; completeness over both', () => {
    const model = buildModel(
      {
        type: 'fusion',
        inputs: { text: { type: 'rnn', units: [6], embedding: { dim: 6 } }, features: { type: 'mlp', units: [6] } },
        combiner: 'concat',
      },
      { inputs: [text, tabular], task: { kind: 'binary' }, seed: 5 },
    );
    const ids = tokens(3, 8);
    const features = tf.tensor2d([
      [1, -2, 0.5, 3, 0],
      [0.2, 0.1, -1, 2, 1],
      [-3, 1, 1, 0, 0.5],
    ]);
    const r = integratedGradients(model, { text: ids, features }, { steps: 50 });
    expect(r.attributions.text!.shape).toEqual([3, 12]);
    expect(r.attributions.features!.shape).toEqual([3, 5]);
    for (const g of r.gap) expect(g).toBeLessThanOrEqual(0.01);
    // Per-input share: the two sums add up to f(x) − f(baseline).
    const share = (t: tf.Tensor) => tf.tidy(() => Array.from(tf.sum(t, 1).dataSync()));
    const st = share(r.attributions.text!);
    const sf = share(r.attributions.features!);
    st.forEach((v, i) => {
      expect(v + sf[i]!).toBeCloseTo(r.outputs[i]! - r.baselineOutputs[i]!, 4);
    });
    disposeAttributions(r);
    tf.dispose([ids, features]);
    model.dispose();
  });
});

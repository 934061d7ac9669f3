// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { values } from './test-helpers.js';

/*
 * One tiny model per kind in the zoo. Each is built with the same weights on cpu and on wasm, trained
 * two steps on the same batch, and the weights after training must agree: this runs every forward and
 * gradient kernel the model needs, and the optimizer's kernels.
 */

type Case = { name: string; build: () => tfl.LayersModel; x: () => tf.Tensor; y: () => tf.Tensor; loss: string };

const seq = (layers: tfl.layers.Layer[]): tfl.LayersModel => {
  const m = tfl.sequential();
  for (const l of layers) m.add(l);
  return m;
};
const onehot = (labels: number[], n: number) => tf.oneHot(tf.tensor1d(labels, 'int32'), n);
const tokens = () => tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 0, 1, 1], [3, 3, 2, 1, 0, 9]]);

const cases: Case[] = [
  {
    name: 'dense MLP with batchnorm',
    build: () => seq([tfl.layers.dense({ units: 8, activation: 'relu', inputShape: [5] }), tfl.layers.batchNormalization(), tfl.layers.dense({ units: 3, activation: 'softmax' })]),
    x: () => tf.tensor(values([8, 5], 1), [8, 5]),
    y: () => onehot([0, 1, 2, 0, 1, 2, 0, 1], 3),
    loss: 'categoricalCrossentropy',
  },
  {
    name: 'conv2d CNN (MNIST-shaped: conv, maxpool, conv same/stride 2, batchnorm, avgpool)',
    build: () =>
      seq([
        tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', strides: 2, activation: 'relu' }),
        tfl.layers.batchNormalization(),
        tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ]),
    x: () => tf.tensor(values([4, 12, 12, 1], 2), [4, 12, 12, 1]),
    y: () => onehot([0, 1, 2, 0], 3),
    loss: 'categoricalCrossentropy',
  },
  {
    name: 'separable / depthwise conv2d',
    build: () =>
      seq([
        tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2, inputShape: [8, 8, 2] }),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
        tfl.layers.globalMaxPooling2d({}),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ]),
    x: () => tf.tensor(values([4, 8, 8, 2], 3), [4, 8, 8, 2]),
    y: () => onehot([0, 1, 2, 0], 3),
    loss: 'categoricalCrossentropy',
  },
  {
    name: 'conv1d CNN with pooling',
    build: () =>
      seq([
        tfl.layers.conv1d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [16, 2] }),
        tfl.layers.maxPooling1d({ poolSize: 2 }),
        tfl.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', strides: 2 }),
        tfl.layers.averagePooling1d({ poolSize: 2 }),
        tfl.layers.globalAveragePooling1d(),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ]),
    x: () => tf.tensor(values([4, 16, 2], 4), [4, 16, 2]),
    y: () => onehot([0, 1, 2, 0], 3),
    loss: 'categoricalCrossentropy',
  },
  ...(['simpleRNN', 'lstm', 'gru'] as const).map((kind) => ({
    name: `embedding + ${kind}`,
    build: () => {
      const rnn = tfl.layers[kind] as (c: { units: number; returnSequences?: boolean }) => tfl.layers.Layer;
      return seq([tfl.layers.embedding({ inputDim: 10, outputDim: 5, inputLength: 6 }), rnn({ units: 4, returnSequences: true }), rnn({ units: 3 }), tfl.layers.dense({ units: 2, activation: 'softmax' })]);
    },
    x: tokens,
    y: () => onehot([0, 1, 1], 2),
    loss: 'categoricalCrossentropy',
  })),
  {
    name: 'embedding + layerNormalization + bidirectional LSTM',
    build: () =>
      seq([
        tfl.layers.embedding({ inputDim: 10, outputDim: 5, inputLength: 6 }),
        tfl.layers.layerNormalization(),
        tfl.layers.bidirectional({ layer: tfl.layers.lstm({ units: 3 }) as tfl.RNN }),
        tfl.layers.dense({ units: 1, activation: 'sigmoid' }),
      ]),
    x: tokens,
    y: () => tf.tensor2d([[0], [1], [1]]),
    loss: 'binaryCrossentropy',
  },
];

/*
 * Adam and RMSProp divide by sqrt(v) + epsilon. With the default epsilon (1e-7) a weight whose gradient is
 * tiny (a bias behind a nearly dead ReLU: |g| ~ 1e-8) moves by lr * g / (|g| + 1e-7), so a float-rounding
 * difference of 1e-9 between backends turns into a 1e-4 difference in the weight: the comparison flaked on
 * some random initializations. An epsilon of 1e-4 bounds that amplification to lr / epsilon = 10 while
 * running the very same optimizer kernels.
 */
const optimizers: Record<string, () => tf.Optimizer> = {
  adam: () => tf.train.adam(1e-3, 0.9, 0.999, 1e-4),
  sgd: () => tf.train.sgd(0.01),
  rmsprop: () => tf.train.rmsprop(1e-3, 0.9, 0, 1e-4),
};

async function trainOn(backend: string, c: Case, optimizer: string, weights?: Float32Array[]): Promise<{ before: Float32Array[]; after: Float32Array[] }> {
  await tf.setBackend(backend);
  const model = c.build();
  if (weights) model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const before = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  model.compile({ optimizer: optimizers[optimizer]!(), loss: c.loss });
  const x = c.x();
  const y = c.y();
  for (let i = 0; i < 2; i++) await model.trainOnBatch(x, y);
  const after = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  return { before, after };
}

describe('training steps on wasm match cpu', () => {
  for (const c of cases) {
    for (const optimizer of Object.keys(optimizers)) {
      it(`${c.name} (${optimizer})`, async () => {
        const cpu = await trainOn('cpu', c, optimizer);
        const wasm = await trainOn('wasm', c, optimizer, cpu.before);
        expect(wasm.after.length).toBe(cpu.after.length);
        // The weights moved, and moved the same way on both backends.
        expect(cpu.after.some((w, i) => w.some((v, j) => v !== cpu.before[i]![j]))).toBe(true);
        for (const [i, w] of wasm.after.entries()) expectTensorsClose(w, cpu.after[i]!, 2e-4, 2e-3);
      });
    }
  }
});

describe('a transformer encoder block trains on wasm', () => {
  it('embedding gather, multi-head attention (batchMatMul, softmax), layernorm, GELU-free MLP: gradients match cpu', async () => {
    const [b, t, d, h, vocab] = [2, 5, 8, 2, 12];
    const shapes: Record<string, number[]> = { emb: [vocab, d], wq: [d, d], wk: [d, d], wv: [d, d], wo: [d, d], w1: [d, 16], w2: [16, d], out: [d, 3] };
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const vars = Object.entries(shapes).map(([k, s], i) => tf.variable(tf.tensor(values(s, 60 + i), s).mul(0.5), true, `${k}_${backend}`));
      const ids = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 7, 0, 11]], undefined, 'int32');
      const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
      const [emb, wq, wk, wv, wo, w1, w2, out] = vars as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const layerNorm = (x: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return x.sub(mean).div(variance.add(1e-5).sqrt());
      };
      const heads = (x: tf.Tensor) => x.reshape([b, t, h, d / h]).transpose([0, 2, 1, 3]);
      const { value, grads: g } = tf.variableGrads(() => {
        const x = tf.gather(emb, ids); // [b, t, d]
        const flat = x.reshape([b * t, d]);
        const q = heads(tf.matMul(flat, wq));
        const k = heads(tf.matMul(flat, wk));
        const v = heads(tf.matMul(flat, wv));
        const att = tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(d / h)));
        const ctx = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([b * t, d]);
        const x1 = layerNorm(flat.add(tf.matMul(ctx, wo)));
        const x2 = layerNorm(x1.add(tf.matMul(tf.relu(tf.matMul(x1, w1)), w2)));
        const pooled = x2.reshape([b, t, d]).mean(1);
        return tf.losses.softmaxCrossEntropy(labels, tf.matMul(pooled as tf.Tensor2D, out)) as tf.Scalar;
      }, vars);
      const result = [Float32Array.from(value.dataSync()), ...vars.map((v) => Float32Array.from(g[v.name]!.dataSync()))];
      tf.dispose([value, ids, labels, ...Object.values(g), ...vars]);
      return result;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    for (const [i, c] of cpu.entries()) expectTensorsClose(wasm[i]!, c, 1e-4, 1e-3);
  });
});

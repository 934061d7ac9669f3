import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, optimizerSchema, perSampleLoss, trainSchema } from './index.js';
import { Objective } from './objective.js';
import { clipGradients } from './step.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('losses (hand-computed)', () => {
  it('categorical cross-entropy, with and without label smoothing', () => {
    const y = tf.tensor2d([[0, 1, 0]]);
    const p = tf.tensor2d([[0.2, 0.7, 0.1]]);
    expectTensorsClose(perSampleLoss('categoricalCrossentropy', y, p), [-Math.log(0.7)]);
    // e = 0.3, K = 3: targets [0.1, 0.8, 0.1].
    const smoothed = -(0.1 * Math.log(0.2) + 0.8 * Math.log(0.7) + 0.1 * Math.log(0.1));
    expectTensorsClose(perSampleLoss('categoricalCrossentropy', y, p, 0.3), [smoothed]);
    expectTensorsClose(perSampleLoss('sparseCategoricalCrossentropy', tf.tensor1d([1]), p), [-Math.log(0.7)]);
  });
  it('binary cross-entropy, mean squared and absolute error', () => {
    expectTensorsClose(perSampleLoss('binaryCrossentropy', tf.tensor2d([[1], [0]]), tf.tensor2d([[0.8], [0.8]])), [-Math.log(0.8), -Math.log(0.2)]);
    // Smoothing 0.2 on binary targets: 1 → 0.9.
    expectTensorsClose(perSampleLoss('binaryCrossentropy', tf.tensor2d([[1]]), tf.tensor2d([[0.8]]), 0.2), [-(0.9 * Math.log(0.8) + 0.1 * Math.log(0.2))]);
    expectTensorsClose(perSampleLoss('meanSquaredError', tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]])), [2.5]);
    expectTensorsClose(perSampleLoss('meanAbsoluteError', tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]])), [1.5]);
  });
});

function denseModel(opts: { kernelRegularizer?: boolean } = {}) {
  const m = tfl.sequential();
  m.add(
    tfl.layers.dense({
      units: 2,
      inputShape: [2],
      activation: 'softmax',
      name: 'out',
      kernelInitializer: 'ones',
      biasInitializer: 'zeros',
      ...(opts.kernelRegularizer ? { kernelRegularizer: tfl.regularizers.l2({ l2: 0.01 }) } : {}),
    }),
  );
  m.layers[0]!.setWeights([tf.tensor2d([[1, -2], [3, 0.5]]), tf.tensor1d([0.1, 0.2])]);
  return m;
}

describe('objective', () => {
  it('adds the model kernel regularizers and the trainer L1/L2 (kernels only, not biases)', () => {
    const sq = 1 + 4 + 9 + 0.25;
    const abs = 1 + 2 + 3 + 0.5;
    const m = denseModel({ kernelRegularizer: true });
    const o = new Objective(m, trainSchema.parse({ loss: 'meanSquaredError', regularization: { l1: 0.1, l2: 0.5 } }), undefined);
    expectTensorsClose(o.regularization(), [0.01 * sq + 0.1 * abs + 0.5 * sq]);
    const perLayer = new Objective(m, trainSchema.parse({ loss: 'meanSquaredError', regularization: { l2: 0.5, layers: { out: { l1: 1 } } } }), undefined);
    expectTensorsClose(perLayer.regularization(), [0.01 * sq + abs]);
    expect(() => new Objective(m, trainSchema.parse({ loss: 'meanSquaredError', regularization: { layers: { ou: { l1: 1 } } } }), undefined)).toThrow(
      /train\.regularization\.layers\.ou: unknown layer; received "ou"; expected "out" \(did you mean "out"\?\)/,
    );
  });
  it('class weights and sample weights: mean of loss * weight over the batch', () => {
    const m = denseModel();
    const o = new Objective(m, trainSchema.parse({ loss: 'categoricalCrossentropy', classWeight: { '1': 3 } }), { kind: 'multiclass', classes: 2 });
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    const p = tf.tensor2d([[0.5, 0.5], [0.25, 0.75]]);
    const l0 = -Math.log(0.5);
    const l1 = -Math.log(0.75);
    expectTensorsClose(o.dataLoss([p], [y]), [(l0 * 1 + l1 * 3) / 2]);
    expectTensorsClose(o.dataLoss([p], [y], tf.tensor1d([2, 0])), [(l0 * 2) / 2]);
    // Validation applies sample weights only.
    expectTensorsClose(o.dataLoss([p], [y], undefined, false), [(l0 + l1) / 2]);
    expect(() => new Objective(m, trainSchema.parse({ classWeight: { cat: 2 } }), { kind: 'multiclass', classes: 2, labels: ['dog', 'cow'] })).toThrow(
      /unknown class; received "cat".*did you mean "cow"/,
    );
  });
});

describe('optimizers', () => {
  it('adamw: one step = w - lr*wd*w - lr*mhat/(sqrt(vhat)+eps) (PyTorch AdamW)', () => {
    const v = tf.variable(tf.tensor1d([1, -2]));
    const opt = createOptimizer(optimizerSchema.parse({ type: 'adamw', learningRate: 0.1, weightDecay: 0.1 }));
    opt.apply([v], [tf.tensor1d([0.5, 0.5])]);
    // mhat = 0.5, vhat = 0.25 → the Adam step is 0.5 / (0.5 + 1e-7) ≈ 1 per element.
    const step = 0.5 / (0.5 + 1e-7);
    expectTensorsClose(v, [1 - 0.1 * 0.1 * 1 - 0.1 * step, -2 - 0.1 * 0.1 * -2 - 0.1 * step], 1e-6);
    opt.dispose();
    v.dispose();
  });
  it('the learning rate can change between steps (sgd caches it; adam reads the field)', () => {
    const v = tf.variable(tf.tensor1d([1]));
    const sgd = createOptimizer(optimizerSchema.parse({ type: 'sgd', learningRate: 0.1 }));
    sgd.apply([v], [tf.tensor1d([1])]);
    sgd.setLearningRate(0.5);
    sgd.apply([v], [tf.tensor1d([1])]);
    expectTensorsClose(v, [1 - 0.1 - 0.5]);
    const nesterov = createOptimizer(optimizerSchema.parse({ type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true }));
    const w = tf.variable(tf.tensor1d([0]));
    nesterov.apply([w], [tf.tensor1d([1])]);
    nesterov.apply([w], [tf.tensor1d([1])]);
    // acc1 = 1, w1 = -0.1*(1 + 0.9*1) = -0.19; acc2 = 1.9, w2 = w1 - 0.1*(1 + 0.9*1.9) = -0.19 - 0.271.
    expectTensorsClose(w, [-0.19 - 0.271], 1e-6);
    for (const x of [sgd, nesterov]) x.dispose();
    tf.dispose([v, w]);
  });
  it('gradient clipping by global norm and by value', () => {
    const byNorm = clipGradients([tf.tensor1d([3]), tf.tensor1d([4])], { norm: 1 });
    expectTensorsClose(byNorm[0]!, [0.6]);
    expectTensorsClose(byNorm[1]!, [0.8]);
    const unchanged = clipGradients([tf.tensor1d([0.3, 0.4])], { norm: 1 });
    expectTensorsClose(unchanged[0]!, [0.3, 0.4]);
    expectTensorsClose(clipGradients([tf.tensor1d([-3, 0.2, 5])], { value: 1 })[0]!, [-1, 0.2, 1]);
  });
});

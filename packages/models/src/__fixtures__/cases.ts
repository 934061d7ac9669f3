import * as tf from '@tensorflow/tfjs-core';
import { createRng, type InputSpec, type TaskSpec } from '@tfpipe/core';

/** One row of the shared contract test: a YAML-like config and the data shapes it is built for. */
export interface ContractCase {
  name: string;
  config: Record<string, unknown>;
  inputs: InputSpec[];
  task: TaskSpec;
  tasks?: Record<string, TaskSpec>;
}

const image: InputSpec = { name: 'image', shape: [8, 8, 1], kind: 'image' };
const tabular: InputSpec = { name: 'features', shape: [4], kind: 'tabular' };
const text: InputSpec = { name: 'text', shape: [6], kind: 'text', vocabSize: 20 };
const sequence: InputSpec = { name: 'series', shape: [6, 3], kind: 'sequence' };
const three: TaskSpec = { kind: 'multiclass', classes: 3 };

export const CASES: ContractCase[] = [
  { name: 'logistic binary', config: { type: 'logistic' }, inputs: [tabular], task: { kind: 'binary' } },
  {
    name: 'logistic multinomial',
    config: { type: 'logistic', regularization: { l2: 0.01 } },
    inputs: [tabular],
    task: three,
  },
  {
    name: 'mlp',
    config: {
      type: 'mlp',
      units: [8, { units: 6, activation: 'tanh', regularization: { l1: 0.001 } }],
      dropout: 0.2,
      batchNorm: true,
      regularization: { l2: 0.01 },
    },
    inputs: [tabular],
    task: three,
  },
  {
    name: 'mlp regression',
    config: { type: 'mlp', units: [4], kernelInitializer: 'heNormal' },
    inputs: [tabular],
    task: { kind: 'regression', outputs: 2 },
  },
  {
    name: 'cnn 2-D',
    config: {
      type: 'cnn',
      blocks: [
        { filters: 4, batchNorm: true },
        { filters: 6, pooling: 'avg', strides: 1, dropout: 0.1 },
      ],
      head: { units: [8], dropout: 0.2 },
    },
    inputs: [image],
    task: three,
  },
  {
    name: 'cnn 1-D sequence',
    config: { type: 'cnn', dims: 1, blocks: [{ filters: 4, kernelSize: 2 }], globalPooling: 'max' },
    inputs: [sequence],
    task: { kind: 'binary' },
  },
  {
    name: 'cnn 1-D text',
    config: { type: 'cnn', embedding: { dim: 4 }, blocks: [{ filters: 4, pooling: 'none' }] },
    inputs: [text],
    task: { kind: 'multilabel', classes: 2 },
  },
  {
    name: 'rnn lstm text',
    config: { type: 'rnn', cell: 'lstm', units: [5], embedding: { dim: 4 } },
    inputs: [text],
    task: { kind: 'binary' },
  },
  {
    name: 'rnn gru bidirectional stacked',
    config: {
      type: 'rnn',
      cell: 'gru',
      units: [4, 3],
      bidirectional: true,
      dropout: 0.1,
      embedding: { dim: 4 },
    },
    inputs: [text],
    task: three,
  },
  {
    name: 'rnn simpleRNN sequence',
    config: { type: 'rnn', cell: 'simpleRNN', units: [4] },
    inputs: [sequence],
    task: { kind: 'regression', outputs: 1 },
  },
  {
    name: 'transformer',
    config: { type: 'transformer', embedDim: 8, numHeads: 2, ffDim: 8, blocks: 2, dropout: 0.1 },
    inputs: [text],
    task: { kind: 'binary' },
  },
  {
    name: 'transformer max pooling',
    config: { type: 'transformer', embedDim: 4, numHeads: 1, ffDim: 4, blocks: 1, pooling: 'max' },
    inputs: [text],
    task: three,
  },
  {
    name: 'layers list',
    config: {
      type: 'layers',
      layers: [
        { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
        { type: 'maxPooling2d' },
        { type: 'flatten' },
        { type: 'dropout', rate: 0.2 },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    },
    inputs: [image],
    task: three,
  },
  {
    name: 'fusion concat',
    config: {
      type: 'fusion',
      inputs: {
        image: { type: 'cnn', blocks: [{ filters: 4 }] },
        features: { type: 'mlp', units: [4] },
        text: { type: 'rnn', units: [4], embedding: { dim: 4 } },
      },
      combiner: 'concat',
      head: { units: [8], dropout: 0.2 },
    },
    inputs: [image, tabular, text],
    task: three,
  },
  {
    name: 'fusion attention, two outputs',
    config: {
      type: 'fusion',
      inputs: {
        image: { type: 'layers', layers: [{ type: 'flatten' }, { type: 'dense', units: 5 }] },
        text: { type: 'transformer', embedDim: 4, numHeads: 2, ffDim: 4, blocks: 1 },
      },
      combiner: 'attention',
      attentionDim: 6,
      head: { units: [6] },
      outputs: {
        label: { task: { kind: 'multiclass', classes: 3 }, lossWeight: 1 },
        score: { task: { kind: 'regression', outputs: 1 }, lossWeight: 0.5 },
      },
    },
    inputs: [image, text],
    task: three,
  },
];

/** A small seeded batch for the inputs; text rows end in padding (id 0). */
export function makeXs(inputs: InputSpec[], n: number, seed: number): Record<string, tf.Tensor> {
  const rng = createRng(seed);
  const xs: Record<string, tf.Tensor> = {};
  for (const spec of inputs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.kind === 'text') {
      const ids = new Int32Array(n * size);
      for (let i = 0; i < n; i++) {
        const len = 2 + rng.int(size - 1);
        for (let j = 0; j < len; j++) ids[i * size + j] = 1 + rng.int(spec.vocabSize! - 1);
      }
      xs[spec.name] = tf.tensor(ids, [n, ...spec.shape], 'int32');
    } else {
      xs[spec.name] = tf.tensor(
        Float32Array.from({ length: n * size }, () => rng.normal()),
        [n, ...spec.shape],
      );
    }
  }
  return xs;
}

/** Seeded targets for a task. */
export function makeYs(task: TaskSpec, n: number, seed: number): tf.Tensor {
  const rng = createRng(seed);
  switch (task.kind) {
    case 'multiclass':
      return tf.tidy(() =>
        tf.cast(
          tf.oneHot(
            tf.tensor1d(
              Array.from({ length: n }, () => rng.int(task.classes)),
              'int32',
            ),
            task.classes,
          ),
          'float32',
        ),
      );
    case 'binary':
      return tf.tensor2d(Array.from({ length: n }, () => [rng.int(2)]));
    case 'multilabel':
      return tf.tensor2d(
        Array.from({ length: n }, () => Array.from({ length: task.classes }, () => rng.int(2))),
      );
    case 'regression':
      return tf.tensor2d(
        Array.from({ length: n }, () => Array.from({ length: task.outputs }, () => rng.normal())),
      );
  }
}

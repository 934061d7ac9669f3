import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { installChainedOps } from '@tfpipe/backend-wasm';
import type { TaskSpec } from '@tfpipe/core';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, it } from 'vitest';
import { buildModel } from './index.js';

beforeAll(async () => {
  installChainedOps();
  await tf.setBackend('cpu');
});

const task: TaskSpec = { kind: 'multiclass', classes: 3 };

/** Copies A's weights into B (same architecture, shorter input); position tables are cut to B's length. */
function copyWeights(a: tfl.LayersModel, b: tfl.LayersModel): void {
  const wb = b.getWeights();
  const wa = a
    .getWeights()
    .map((w, i) => (w.shape[0] !== wb[i]!.shape[0] ? tf.slice(w, 0, wb[i]!.shape[0]) : w.clone()));
  b.setWeights(wa);
  tf.dispose(wa);
}

/** Padding (id 0) at the end must not change the prediction: a length-6 model on [5, 3, 0, 0, 0, 0] gives what a length-2 model gives on [5, 3]. */
function paddingInvariance(config: Record<string, unknown>): void {
  const long = buildModel(config, {
    inputs: [{ name: 'text', shape: [6], kind: 'text', vocabSize: 20 }],
    task,
    seed: 3,
  });
  const short = buildModel(config, {
    inputs: [{ name: 'text', shape: [2], kind: 'text', vocabSize: 20 }],
    task,
    seed: 4,
  });
  copyWeights(long, short);
  const a = tf.tidy(() => long.predict(tf.tensor2d([[5, 3, 0, 0, 0, 0]], undefined, 'int32')) as tf.Tensor);
  const b = tf.tidy(() => short.predict(tf.tensor2d([[5, 3]], undefined, 'int32')) as tf.Tensor);
  expectTensorsClose(a, b, 1e-5, 1e-4);
  tf.dispose([a, b]);
  long.dispose();
  short.dispose();
}

describe('padding (token id 0) is masked', () => {
  it('rnn (lstm, maskZero)', () => paddingInvariance({ type: 'rnn', units: [4], embedding: { dim: 3 } }));
  it('rnn (gru, stacked)', () =>
    paddingInvariance({ type: 'rnn', cell: 'gru', units: [4, 3], embedding: { dim: 3 } }));
  it('transformer, mean pooling', () =>
    paddingInvariance({ type: 'transformer', embedDim: 4, numHeads: 2, ffDim: 4, blocks: 2 }));
  it('transformer, max pooling', () =>
    paddingInvariance({
      type: 'transformer',
      embedDim: 4,
      numHeads: 1,
      ffDim: 4,
      blocks: 1,
      pooling: 'max',
    }));
});

// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, it } from 'vitest';
import { expectSameOnBoth, values } from '../test-helpers.js';

const cases: [number[], number[]][] = [
  [[3, 5, 2, 4, 6], [1, 3, 0, 2, 4]], // attention's q/k/v split (ours)
  [[5, 4, 3, 2, 6], [2, 0, 3, 1, 4]], // and its gradient (ours)
  [[2, 3, 1, 4, 5, 2], [5, 3, 1, 0, 4, 2]], // rank 6 with a size-1 axis, last axis moved (ours)
  [[2, 3, 4, 5, 6], [0, 1, 2, 3, 4]], // identity permutation
  [[2, 3, 4, 5, 6], [0, 1, 4, 2, 3]], // fused leading axes
  [[37, 19], [1, 0]], // a matrix (ours)
  [[1600, 10], [1, 0]], // a dense layer's weights (ours, SIMD)
  [[1, 5408, 32], [0, 2, 1]], // a size-1 axis dropped: a matrix (ours, SIMD)
  [[4, 6, 5], [0, 2, 1]], // a batch of matrices (ours, SIMD)
  [[3, 9, 13], [0, 2, 1]], // a batch of matrices, sizes past a multiple of 4 (ours, SIMD)
  [[4, 6, 5], [1, 0, 2]], // 3 axes: the C kernel
  [[3, 4, 5, 6], [3, 1, 2, 0]], // 4 axes: the C kernel
];

describe('Transpose on wasm (matrices in SIMD, rank > 4 in JS, the rest in C)', () => {
  for (const [shape, perm] of cases) {
    it(`matches cpu: [${shape}] by [${perm}], value and gradient`, async () => {
      await expectSameOnBoth(() => {
        const x = tf.tensor(values(shape, 21), shape);
        return [tf.transpose(x, perm), tf.grad((a: tf.Tensor) => tf.transpose(a, perm).mul(tf.range(0, x.size).reshape(perm.map((p) => shape[p]!))).sum())(x)];
      }, 0, 0);
    });
  }

  it('int32 and bool tensors, and no leaks', async () => {
    await expectSameOnBoth(() => tf.transpose(tf.range(0, 120, 1, 'int32').reshape([2, 3, 1, 4, 5]), [4, 0, 3, 2, 1]).cast('float32'), 0, 0);
    await expectSameOnBoth(() => tf.transpose(tf.greater(tf.tensor(values([7, 3], 2), [7, 3]), 0), [1, 0]).cast('float32'), 0, 0);
    await expectSameOnBoth(() => tf.transpose(tf.range(0, 99, 1, 'int32').reshape([9, 11]), [1, 0]).cast('float32'), 0, 0);
    await tf.setBackend('wasm');
    await expectNoLeakedTensors(() => tf.tidy(() => tf.transpose(tf.ones([2, 3, 4, 5, 6]), [4, 3, 2, 1, 0]).dataSync()));
  });
});

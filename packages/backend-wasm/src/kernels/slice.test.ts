// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onBoth, values } from '../test-helpers.js';

const cases: [number[], number[], number[]][] = [
  [[10, 4, 4, 1], [3, 0, 0, 0], [5, -1, -1, -1]], // a batch of rows: contiguous
  [[6, 5, 4], [1, 2, 1], [3, 2, 2]], // strided in every axis
  [[7, 9], [2, 3], [4, 5]],
  [[12], [5], [4]],
  [[2, 3, 4, 5, 6], [1, 0, 2, 1, 3], [1, 3, 2, 3, 2]], // rank 5
  [[4, 6], [0, 0], [4, 6]], // everything
  [[4, 6], [1, 2], [0, 3]], // empty
];

describe('Slice on wasm (reads its input in place)', () => {
  for (const [shape, begin, size] of cases) {
    it(`matches cpu: [${shape}] begin [${begin}] size [${size}]`, async () => {
      await expectSameOnBoth(() => tf.slice(tf.tensor(values(shape, 3), shape), begin, size), 0, 0);
      const { shapes } = await onBoth(() => tf.slice(tf.tensor(values(shape, 3), shape), begin, size));
      expect(shapes[0]).toEqual(tf.tidy(() => tf.slice(tf.zeros(shape), begin, size).shape));
    });
  }

  it('int32 and bool slices, the gradient of a slice, and no leaks', async () => {
    await expectSameOnBoth(() => tf.slice(tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, 'int32'), [0, 1], [2, 2]).cast('float32'), 0, 0);
    await expectSameOnBoth(() => tf.slice(tf.tensor2d([[1, 0, 1], [0, 1, 1]], undefined, 'bool'), [1, 0], [1, 3]).cast('float32'), 0, 0);
    await expectSameOnBoth(() => tf.grad((a: tf.Tensor) => tf.slice(a, [1, 1], [2, 2]).square().sum())(tf.tensor(values([4, 4], 6), [4, 4])));
    await tf.setBackend('wasm');
    await expectNoLeakedTensors(() => tf.tidy(() => tf.slice(tf.ones([8, 3, 3]), [2, 1, 0], [4, 2, 3]).dataSync()));
  });
});

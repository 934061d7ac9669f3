// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { expectSameOnBoth, values, valueAndGrads } from '../test-helpers.js';

const cases: [[number, number, number, number], [number, number], [number, number], 'valid' | 'same'][] = [
  [[2, 8, 8, 3], [2, 2], [2, 2], 'valid'],
  [[2, 7, 7, 3], [2, 2], [2, 2], 'same'],
  [[2, 9, 9, 2], [3, 3], [2, 2], 'valid'],
  [[2, 9, 9, 2], [3, 3], [2, 2], 'same'],
  [[1, 6, 7, 4], [3, 2], [1, 1], 'same'],
  [[2, 26, 26, 4], [2, 2], [2, 2], 'valid'], // the MNIST CNN's first pooling
  [[2, 11, 11, 5], [2, 2], [2, 2], 'valid'], // the second: odd sizes leave a last row and column out of every window
  [[1, 7, 8, 2], [2, 2], [2, 2], 'valid'],
  [[3, 11, 11, 8], [2, 2], [2, 2], 'valid'], // channels a multiple of 4: the SIMD kernel, odd sizes
  [[2, 12, 10, 12], [2, 2], [2, 2], 'valid'],
  [[2, 1, 15, 3], [1, 2], [1, 2], 'valid'], // maxPooling1d as tfjs-layers runs it
];

describe('MaxPoolGrad / AvgPoolGrad on wasm', () => {
  for (const [xs, size, strides, pad] of cases) {
    it(`match cpu: x [${xs}] window [${size}] strides [${strides}] ${pad}`, async () => {
      for (const pool of ['max', 'avg'] as const) {
        await expectSameOnBoth(() => {
          const x = tf.tensor(values(xs, 11), xs) as tf.Tensor4D;
          const f = (a: tf.Tensor) => (pool === 'max' ? tf.maxPool(a as tf.Tensor4D, size, strides, pad) : tf.avgPool(a as tf.Tensor4D, size, strides, pad));
          const w = tf.tensor(values(f(x).shape, 12), f(x).shape);
          return valueAndGrads((a) => f(a!).mul(w), [x]);
        });
      }
    });
  }

  it('the SIMD kernel routes ties (zeros from a ReLU, equal values) to the first maximum, like cpu', async () => {
    await expectSameOnBoth(() => {
      // Four channels: per channel a window of zeros, a tie of twos in the second row, a tie across rows, no tie.
      const v = [0, 1, 2, 3, 0, 1, 5, 3, 0, 2, 2, 4, 0, 2, 5, 1];
      const x = tf.tensor4d(v.concat(v.map((a) => -a)), [2, 2, 2, 4]);
      return tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').mul(tf.tensor1d([1, 2, 3, 4])).sum())(x);
    });
  });

  it('max pool routes a tie to the first maximum of the window, like cpu', async () => {
    await expectSameOnBoth(() => {
      const x = tf.tensor4d([1, 1, 1, 1, 0, 2, 2, 0, 3, 3, 3, 3, 0, 0, 0, 0], [1, 4, 4, 1]);
      return tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').sum())(x);
    });
  });
});

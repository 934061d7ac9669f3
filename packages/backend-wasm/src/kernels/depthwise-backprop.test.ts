// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { expectSameOnBoth, values, valueAndGrads } from '../test-helpers.js';

const cases: [[number, number, number, number], [number, number, number, number], [number, number], 'valid' | 'same'][] = [
  [[2, 8, 8, 3], [3, 3, 3, 1], [1, 1], 'valid'],
  [[2, 8, 8, 3], [3, 3, 3, 2], [1, 1], 'same'],
  [[2, 9, 9, 2], [3, 3, 2, 2], [2, 2], 'same'],
  [[1, 7, 6, 4], [2, 3, 4, 1], [2, 1], 'valid'],
];

describe('DepthwiseConv2dNativeBackpropFilter / Input on wasm', () => {
  for (const [xs, fs, strides, pad] of cases) {
    it(`match cpu: x [${xs}] filter [${fs}] strides [${strides}] ${pad}`, async () => {
      await expectSameOnBoth(() => {
        const x = tf.tensor(values(xs, 21), xs) as tf.Tensor4D;
        const f = tf.tensor(values(fs, 22), fs) as tf.Tensor4D;
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
        const shape = conv(x, f).shape;
        const w = tf.tensor(values(shape, 23), shape);
        return valueAndGrads((a, b) => conv(a!, b!).mul(w), [x, f]);
      });
    });
  }

  it('separableConv2d (depthwise then pointwise) matches cpu', async () => {
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([2, 6, 6, 3], 24), [2, 6, 6, 3]) as tf.Tensor4D;
      const d = tf.tensor(values([3, 3, 3, 2], 25), [3, 3, 3, 2]) as tf.Tensor4D;
      const p = tf.tensor(values([1, 1, 6, 4], 26), [1, 1, 6, 4]) as tf.Tensor4D;
      return valueAndGrads((a, b, c) => tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 1, 'same'), [x, d, p]);
    });
  });
});

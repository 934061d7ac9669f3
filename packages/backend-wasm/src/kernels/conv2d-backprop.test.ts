// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { setSimdKernelsEnabled } from '../simd/instance.js';
import { expectSameOnBoth, values, valueAndGrads } from '../test-helpers.js';

// [x shape, filter shape, strides, pad]: the shapes the model zoo's CNNs use, odd sizes and strides.
const cases: [[number, number, number, number], [number, number, number, number], [number, number], 'valid' | 'same'][] = [
  [[2, 9, 9, 3], [3, 3, 3, 4], [1, 1], 'valid'],
  [[2, 9, 9, 3], [3, 3, 3, 4], [1, 1], 'same'],
  [[2, 9, 8, 3], [3, 3, 3, 4], [2, 2], 'valid'],
  [[2, 9, 8, 3], [3, 3, 3, 4], [2, 2], 'same'],
  [[1, 10, 10, 2], [5, 5, 2, 3], [2, 1], 'same'],
  [[3, 7, 11, 1], [2, 4, 1, 5], [3, 2], 'valid'],
  [[2, 28, 28, 1], [3, 3, 1, 8], [1, 1], 'valid'], // MNIST's first layer
  [[2, 1, 16, 4], [1, 3, 4, 6], [1, 2], 'same'], // conv1d as tfjs-layers runs it
  [[3, 13, 11, 2], [3, 3, 2, 8], [2, 1], 'same'], // few taps, channels a multiple of 4: the SIMD kernel, padded, strided
  [[1, 6, 6, 1], [2, 2, 1, 12], [1, 1], 'valid'],
  [[2, 7, 9, 1], [3, 3, 1, 4], [1, 1], 'same'], // few taps, 4 channels: the kernel's 4-channel path only
  // More than 64 filter rows (fh*fw*ci): the filter gradient as im2col^T x dy (SIMD im2col + GEMM)
  [[2, 13, 13, 8], [3, 3, 8, 12], [1, 1], 'valid'],
  [[3, 11, 10, 9], [3, 3, 9, 5], [1, 1], 'same'],
  [[2, 12, 11, 9], [3, 3, 9, 8], [2, 2], 'same'],
  [[2, 9, 9, 7], [4, 4, 7, 6], [2, 3], 'valid'],
];

describe('Conv2DBackpropFilter / Conv2DBackpropInput on wasm', () => {
  for (const [xs, fs, strides, pad] of cases) {
    it(`match cpu: x [${xs}] filter [${fs}] strides [${strides}] ${pad}`, async () => {
      const dyScale = tf.util.sizeFromShape(xs) % 7;
      await expectSameOnBoth(() => {
        const x = tf.tensor(values(xs, 1), xs) as tf.Tensor4D;
        const f = tf.tensor(values(fs, 2), fs) as tf.Tensor4D;
        // Weight the output by a fixed pattern so dy is not all ones.
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
        const shape = conv(x, f).shape;
        const w = tf.tensor(values(shape, 3 + dyScale), shape);
        return valueAndGrads((a, b) => conv(a!, b!).mul(w), [x, f]);
      });
    });
  }

  it('a filter gradient whose im2col is built in chunks (a big batch of big images) matches cpu', async () => {
    // 144 filter rows x 128*128 pixels: 2.4M floats of im2col per image, so one image per chunk.
    await expectSameOnBoth(
      () => {
        const x = tf.tensor(values([2, 128, 128, 16], 13), [2, 128, 128, 16]) as tf.Tensor4D;
        const f = tf.tensor(values([3, 3, 16, 4], 14), [3, 3, 16, 4]) as tf.Tensor4D;
        return valueAndGrads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), [x, f]);
      },
      1e-3,
      1e-3,
    );
  });

  it('without our SIMD kernels (TFPIPE_WASM_SIMD_KERNELS=0) the fallback matches cpu', async () => {
    setSimdKernelsEnabled(false);
    try {
      for (const [xs, fs, strides, pad] of [cases[6]!, cases[13]!]) {
        await expectSameOnBoth(() => {
          const x = tf.tensor(values(xs, 15), xs) as tf.Tensor4D;
          const f = tf.tensor(values(fs, 16), fs) as tf.Tensor4D;
          return valueAndGrads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), [x, f]);
        });
      }
    } finally {
      setSimdKernelsEnabled(true);
    }
  });

  it('conv1d (stride 2, same) and conv2dTranspose match cpu', async () => {
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([2, 15, 3], 4), [2, 15, 3]) as tf.Tensor3D;
      const f = tf.tensor(values([4, 3, 5], 5), [4, 3, 5]) as tf.Tensor3D;
      return valueAndGrads((a, b) => tf.conv1d(a as tf.Tensor3D, b as tf.Tensor3D, 2, 'same'), [x, f]);
    });
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([2, 5, 5, 4], 6), [2, 5, 5, 4]) as tf.Tensor4D;
      const f = tf.tensor(values([3, 3, 2, 4], 7), [3, 3, 2, 4]) as tf.Tensor4D;
      return valueAndGrads((a, b) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 10, 10, 2], 2, 'same'), [x, f]);
    });
  });

  it('fused conv2d with bias and relu (what tfjs-layers Conv2D runs) matches cpu', async () => {
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([2, 8, 8, 3], 8), [2, 8, 8, 3]) as tf.Tensor4D;
      const f = tf.tensor(values([3, 3, 3, 4], 9), [3, 3, 3, 4]) as tf.Tensor4D;
      const b = tf.tensor(values([4], 10), [4]);
      return valueAndGrads(
        (a, k, c) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 1, pad: 'same', bias: c, activation: 'relu' }),
        [x, f, b],
      );
    });
  });
});

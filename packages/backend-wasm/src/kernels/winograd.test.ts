// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onBoth, values, valueAndGrads } from '../test-helpers.js';
import { setWinogradEnabled, winogradFits } from './winograd.js';

// 3x3, stride 1: Winograd F(4x4, 3x3) for the forward pass (input channels % 4, output channels % 8) and for the
// input gradient (the same with the roles swapped); whole and partial 4x4 tiles, valid, same and explicit padding.
const cases: [[number, number, number, number], [number, number, number, number], 'valid' | 'same' | tf.backend_util.ExplicitPadding][] = [
  [[2, 13, 13, 32], [3, 3, 32, 64], 'valid'], // MNIST CNN's second layer (11x11 out: partial tiles)
  [[2, 11, 14, 8], [3, 3, 8, 16], 'same'], // both passes, tiles cut on both axes
  [[3, 10, 9, 4], [3, 3, 4, 8], 'same'], // forward only (4 input channels: the input gradient is XNNPACK's)
  [[1, 17, 19, 12], [3, 3, 12, 24], 'valid'],
  [[2, 12, 12, 8], [3, 3, 8, 8], 'valid'], // whole tiles only
  [[2, 9, 10, 16], [3, 3, 16, 8], [[0, 0], [2, 1], [0, 3], [0, 0]]], // explicit, uneven padding
];

// F(4x4, 3x3) rounds differently from the direct sum (its transforms scale by up to 8 and 1/24): absolute
// errors up to ~3e-5 of the outputs' scale, which here (sums of 288 products of values in [-1, 1)) is ~5.
const WINOGRAD_ATOL = 5e-4;

describe('Winograd F(4x4, 3x3) convolutions on wasm', () => {
  for (const [xs, fs, pad] of cases) {
    it(`match cpu (values and gradients): x [${xs}] filter [${fs}] ${JSON.stringify(pad)}`, async () => {
      const shape = tf.backend_util.computeConv2DInfo(xs, fs, 1, 1, pad).outShape;
      expect(winogradFits(3, 3, [1, 1], [1, 1], xs[3], fs[3], shape[0] * shape[1] * shape[2])).toBe(true);
      await expectSameOnBoth(() => {
        const x = tf.tensor(values(xs, 21), xs) as tf.Tensor4D;
        const f = tf.tensor(values(fs, 22), fs) as tf.Tensor4D;
        const w = tf.tensor(values(shape, 23), shape);
        return valueAndGrads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad).mul(w), [x, f]);
      }, WINOGRAD_ATOL);
    });
  }

  it('fused conv2d (inference in tfjs-layers) with a bias and ReLU, a bias alone, ReLU alone, and relu6 (not ours) match cpu', async () => {
    const xs: [number, number, number, number] = [2, 11, 10, 8];
    const fs: [number, number, number, number] = [3, 3, 8, 16];
    for (const [withBias, activation] of [[true, 'relu'], [true, 'linear'], [false, 'relu'], [true, 'relu6']] as const) {
      await expectSameOnBoth(
        () =>
          tf.fused.conv2d({
            x: tf.tensor(values(xs, 28), xs) as tf.Tensor4D,
            filter: tf.tensor(values(fs, 29), fs) as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            ...(withBias ? { bias: tf.tensor(values([16], 30), [16]) } : {}),
            activation,
          }),
        WINOGRAD_ATOL,
      );
    }
  });

  it('a NaN or infinity reaches every output whose window reads it (and may spread to its 4x4 tile, as in cuDNN)', async () => {
    const xs: [number, number, number, number] = [1, 8, 8, 4];
    const data = values(xs, 24);
    data[5 * 32 + 3 * 4 + 1] = Number.NaN;
    data[2 * 32] = Number.POSITIVE_INFINITY;
    const { cpu, wasm } = await onBoth(() =>
      tf.conv2d(tf.tensor(data, xs) as tf.Tensor4D, tf.tensor(values([3, 3, 4, 8], 25), [3, 3, 4, 8]) as tf.Tensor4D, 1, 'same'),
    );
    let finite = 0;
    for (const [i, c] of cpu[0]!.entries()) {
      const w = wasm[0]![i]!;
      if (!Number.isFinite(c)) expect(Number.isFinite(w), `output ${i}`).toBe(false);
      else if (Number.isFinite(w)) {
        expect(Math.abs(w - c)).toBeLessThan(1e-4 + 1e-4 * Math.abs(c));
        finite++;
      }
    }
    expect(finite).toBeGreaterThan(0);
  });

  it('takes only what it computes right: other filter sizes, strides, dilations and channel counts do not fit', () => {
    expect(winogradFits(5, 5, [1, 1], [1, 1], 8, 8, 1000)).toBe(false);
    expect(winogradFits(3, 3, [2, 2], [1, 1], 8, 8, 1000)).toBe(false);
    expect(winogradFits(3, 3, [1, 1], [2, 2], 8, 8, 1000)).toBe(false);
    expect(winogradFits(3, 3, [1, 1], [1, 1], 3, 8, 1000)).toBe(false);
    expect(winogradFits(3, 3, [1, 1], [1, 1], 8, 12, 1000)).toBe(false);
    expect(winogradFits(3, 3, [1, 1], [1, 1], 8, 8, 40)).toBe(false);
    setWinogradEnabled(false);
    try {
      expect(winogradFits(3, 3, [1, 1], [1, 1], 8, 8, 1000)).toBe(false);
    } finally {
      setWinogradEnabled(true);
    }
  });

  it('leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(values([2, 13, 13, 32], 26), [2, 13, 13, 32]) as tf.Tensor4D;
    const f = tf.tensor(values([3, 3, 32, 64], 27), [3, 3, 32, 64]) as tf.Tensor4D;
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid').square().sum())([x, f]).map((t) => t.dataSync()));
    step();
    await expectNoLeakedTensors(() => {
      for (let i = 0; i < 3; i++) step();
    });
    tf.dispose([x, f]);
  });
});

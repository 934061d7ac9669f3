// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onBoth, values } from '../test-helpers.js';

const cases: [number[], number | number[], boolean][] = [
  [[4, 6, 6, 5], [0, 1, 2], false], // a conv bias gradient
  [[4, 6, 6, 5], [2, 0, 1], true], // axes in any order, keepDims
  [[7, 3], 0, false], // a dense bias gradient
  [[7, 3], -2, true],
  [[3, 4, 5], [0, 2], false], // not leading: the original kernel
  [[3, 4, 5], [1, 2], false], // trailing: the original kernel
  [[3, 4, 5], [0, 1, 2], false], // everything: the original kernel
  [[1, 9], 0, false],
  [[5, 3, 3, 8], [0, 1, 2], false], // inner a multiple of 4: the SIMD kernel
  [[9, 4], [0], true],
];

describe('Sum on wasm (leading axes in one pass, the rest by the original kernel)', () => {
  for (const [shape, axis, keepDims] of cases) {
    it(`matches cpu: [${shape}] axis ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`, async () => {
      await expectSameOnBoth(() => tf.sum(tf.tensor(values(shape, 5), shape), axis, keepDims), 1e-4, 1e-5);
      const { shapes } = await onBoth(() => tf.sum(tf.tensor(values(shape, 5), shape), axis, keepDims));
      expect(shapes[0]).toEqual(tf.sum(tf.zeros(shape), axis, keepDims).shape);
    });
  }

  it('int32 sums and gradients through a broadcast add (what trains a bias) match cpu, and nothing leaks', async () => {
    await expectSameOnBoth(() => tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]], undefined, 'int32'), 0).cast('float32'));
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([3, 4, 4, 2], 9), [3, 4, 4, 2]);
      const b = tf.tensor1d([0.5, -1]);
      return tf.grads((a: tf.Tensor, c: tf.Tensor) => a.add(c).square().sum())([x, b]);
    });
    await tf.setBackend('wasm');
    await expectNoLeakedTensors(() => tf.tidy(() => tf.sum(tf.ones([5, 4, 3]), [0, 1]).dataSync()));
  });
});

describe('our SIMD kernels', () => {
  it('instantiate over the wasm backend heap (threaded or not), so the SIMD paths above run', async () => {
    const { simdKernels } = await import('../simd/instance.js');
    await tf.setBackend('wasm');
    const k = simdKernels(tf.backend() as never);
    expect(typeof k?.maxpool_grad_2x2).toBe('function');
    expect(typeof k?.sum_rows).toBe('function');
  });
});

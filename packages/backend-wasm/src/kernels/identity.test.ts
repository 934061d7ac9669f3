// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import '../index.js';

describe('Identity on wasm (shares memory instead of copying)', () => {
  it('clones keep their values when the original is disposed, and the other way round; variables stay independent', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numBytes;
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId); // one buffer for both
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    const c = tf.clone(b);
    b.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    c.dispose();
    expect(tf.memory().numBytes).toBe(before);

    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const snapshot = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    tf.dispose([v, snapshot]);
  });

  it('gradients that pass through identity are right, and nothing leaks', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.clone(t).square().sum())(x);
    expect(Array.from(g.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, g]);
    await expectNoLeakedTensors(() => tf.tidy(() => tf.clone(tf.ones([64, 8])).add(1).dataSync()));
  });

  it('a cast to the same dtype shares memory; real casts convert; relu gradients through it are right', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numBytes;
    const a = tf.tensor1d([1.5, -2, 0]);
    const same = tf.cast(a, 'float32');
    expect(same.dataId).toBe(a.dataId);
    a.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 0]);
    const i = tf.cast(same, 'int32');
    const b = tf.cast(same, 'bool');
    const big = tf.tidy(() => tf.cast(tf.tensor1d([256, -0.5], 'float32'), 'bool'));
    expect([i.dtype, Array.from(i.dataSync())]).toEqual(['int32', [1, -2, 0]]);
    expect([b.dtype, Array.from(b.dataSync())]).toEqual(['bool', [1, 1, 0]]);
    expect(Array.from(big.dataSync())).toEqual([1, 1]); // not 0 and 0 (a byte of 256, a truncated -0.5)
    big.dispose();
    const g = tf.grad((t: tf.Tensor) => tf.relu(t).mul(tf.tensor1d([2, 3, 4])).sum())(same);
    expect(Array.from(g.dataSync())).toEqual([2, 0, 0]);
    tf.dispose([same, i, b, g]);
    expect(tf.memory().numBytes).toBe(before);
  });
});

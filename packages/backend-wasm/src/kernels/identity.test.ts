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
});

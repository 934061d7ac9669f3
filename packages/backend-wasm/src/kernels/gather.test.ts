// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, values } from '../test-helpers.js';

describe('GatherV2 on wasm (axis 0 as row copies)', () => {
  it('matches cpu: embeddings (2-D ids), 3-D tables, int32 tables, single columns, other axes, and the gradient', async () => {
    const ids = () => tf.tensor2d([[3, 0, 3], [9, 1, 2]], undefined, 'int32');
    await expectSameOnBoth(() => tf.gather(tf.tensor(values([10, 6], 1), [10, 6]), ids()), 0, 0);
    await expectSameOnBoth(() => tf.gather(tf.tensor(values([10, 2, 3], 2), [10, 2, 3]), ids()), 0, 0);
    await expectSameOnBoth(() => tf.gather(tf.range(0, 40, 1, 'int32').reshape([10, 4]), ids()).cast('float32'), 0, 0);
    await expectSameOnBoth(() => tf.gather(tf.tensor(values([10], 3), [10]), ids()), 0, 0);
    await expectSameOnBoth(() => tf.gather(tf.tensor(values([4, 10], 4), [4, 10]), ids(), 1), 0, 0); // the original kernel
    await expectSameOnBoth(() => tf.grad((t: tf.Tensor) => tf.gather(t, ids()).square().sum())(tf.tensor(values([10, 6], 5), [10, 6])));
  });

  it('refuses an id out of range, naming it, and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const table = tf.ones([5, 3]);
    const bad = tf.tensor1d([1, 5], 'int32');
    const before = tf.memory().numTensors;
    expect(() => tf.gather(table, bad)).toThrow(/index value 5 is not in \[0, 4\]/);
    expect(tf.memory().numTensors).toBe(before); // the output made before the check is freed
    tf.dispose([table, bad]);
    await expectNoLeakedTensors(() => tf.tidy(() => tf.gather(tf.ones([8, 4]), tf.tensor1d([7, 0, 7], 'int32')).dataSync()));
  });
});

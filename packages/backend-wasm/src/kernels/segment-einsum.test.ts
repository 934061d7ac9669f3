// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, values, valueAndGrads } from '../test-helpers.js';

describe('UnsortedSegmentSum on wasm', () => {
  it('sums rows into segments (hand-computed), drops out-of-range ids', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const out = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 5], 'int32'), 3);
    expect(out.shape).toEqual([3, 2]);
    expectTensorsClose(out, [3, 4, 0, 0, 6, 8]);
    const ints = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2);
    expect(ints.dtype).toBe('int32');
    expectTensorsClose(ints, [3, 3]);
    tf.dispose([x, out, ints]);
  });

  it('the gradient of gather (embeddings, 2-D ids with repeats) matches cpu', async () => {
    await expectSameOnBoth(() => {
      const table = tf.tensor(values([10, 6], 31), [10, 6]);
      const ids = tf.tensor2d([[1, 2, 2, 9], [0, 1, 1, 1]], undefined, 'int32');
      const w = tf.tensor(values([2, 4, 6], 32), [2, 4, 6]);
      return valueAndGrads((t) => tf.gather(t!, ids).mul(w), [table]);
    });
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([3, 5, 4], 33), [3, 5, 4]);
      const ids = tf.tensor1d([4, 0, 4], 'int32');
      return valueAndGrads((t) => tf.gather(t!, ids, 1).square(), [x]);
    });
  });
});

describe('Einsum on wasm', () => {
  const eqs: [string, number[][]][] = [
    ['ij,jk->ik', [[3, 4], [4, 5]]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]],
    ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
    ['ij->ji', [[3, 4]]],
    ['i,i->', [[6], [6]]],
    ['ij->j', [[3, 4]]],
  ];
  for (const [eq, shapes] of eqs) {
    it(`${eq} matches cpu`, async () => {
      await expectSameOnBoth(() => tf.einsum(eq, ...shapes.map((s, i) => tf.tensor(values(s, 40 + i), s))));
    });
  }
});

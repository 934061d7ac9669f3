// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, it } from 'vitest';
import { expectSameOnBoth, values, valueAndGrads } from '../test-helpers.js';

const cases: [number[], number[], boolean, boolean][] = [
  [[32, 64], [32, 256], true, false], // an LSTM step's dW = x^T dz
  [[32, 256], [64, 256], false, true], // its dx = dz W^T
  [[5, 7], [9, 7], false, true],
  [[7, 5], [9, 7], true, true],
  [[3, 6, 4], [3, 6, 5], true, false], // batched, 5 columns: transposed, then the stock kernel
  [[6, 5, 8], [6, 8, 12], false, false], // batched, columns a multiple of 4: our SIMD kernel
  [[8, 12, 4], [8, 12, 16], true, false], // attention's gradient shapes, SIMD after the transpose
  [[8, 12, 16], [8, 12, 16], false, true],
  [[2, 3, 6, 4], [2, 3, 4, 8], false, false], // two batch axes (attention: batch x heads)
  [[2, 3, 6, 4], [2, 3, 6, 8], true, false],
  [[4, 6], [6, 3], false, false], // no flag, 3 columns: the original kernel
  // Columns a multiple of 8: our 4x8 GEMM kernel (rows a multiple of 4 and not, k of any size, batched)
  [[32, 64], [64, 256], false, false], // an LSTM step's h U
  [[7, 9], [9, 16], false, false], // 4 rows in a block + 3 alone
  [[3, 5], [5, 8], false, false], // rows alone only
  [[1, 1], [1, 8], false, false],
  [[9, 13], [24, 13], false, true],
  [[4, 6, 10], [4, 10, 24], false, false], // batched, 24 columns
  [[2, 3, 5, 6], [2, 3, 6, 8], false, false],
];

describe('BatchMatMul on wasm (transposes done as a transpose + plain product)', () => {
  for (const [as, bs, ta, tb] of cases) {
    it(`matches cpu: a [${as}]${ta ? 'ᵀ' : ''} x b [${bs}]${tb ? 'ᵀ' : ''}, values and gradients`, async () => {
      await expectSameOnBoth(() => {
        const a = tf.tensor(values(as, 11), as);
        const b = tf.tensor(values(bs, 12), bs);
        return valueAndGrads((x, y) => tf.matMul(x!, y!, ta, tb), [a, b]);
      }, 1e-4, 1e-4);
    });
  }

  it('broadcasts batch dimensions like cpu (values: tfjs-core has no gradient for a broadcast batch)', async () => {
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([2, 4, 6], 13), [2, 4, 6]), tf.tensor(values([1, 5, 6], 14), [1, 5, 6]), false, true));
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([1, 6, 4], 15), [1, 6, 4]), tf.tensor(values([3, 6, 5], 16), [3, 6, 5]), true, false));
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([1, 5, 7], 17), [1, 5, 7]), tf.tensor(values([4, 7, 8], 18), [4, 7, 8]))); // SIMD, A broadcast
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([3, 5, 7], 19), [3, 5, 7]), tf.tensor(values([1, 7, 4], 20), [1, 7, 4]))); // SIMD, B broadcast
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([1, 5, 7], 21), [1, 5, 7]), tf.tensor(values([3, 7, 16], 22), [3, 7, 16]))); // GEMM, A broadcast
    await expectSameOnBoth(() => tf.matMul(tf.tensor(values([3, 6, 7], 23), [3, 6, 7]), tf.tensor(values([7, 8], 24), [7, 8]))); // GEMM, B 2-D
  });

  it('fused matMul (a Dense layer) with a bias and ReLU, a bias alone, ReLU alone, transposes, a batch, and elu (not ours) match cpu', async () => {
    const cases: [number[], number[], boolean, boolean, boolean, 'relu' | 'linear' | 'elu'][] = [
      [[32, 24], [24, 16], false, false, true, 'relu'],
      [[7, 9], [9, 8], false, false, true, 'linear'],
      [[5, 6], [6, 24], false, false, false, 'relu'],
      [[9, 5], [16, 9], true, true, true, 'relu'],
      [[3, 5, 6], [3, 6, 8], false, false, true, 'relu'],
      [[6, 5], [5, 8], false, false, true, 'elu'],
    ];
    for (const [as, bs, ta, tb, withBias, activation] of cases) {
      const n = bs[bs.length - (tb ? 2 : 1)]!;
      await expectSameOnBoth(() =>
        tf.fused.matMul({
          a: tf.tensor(values(as, 31), as),
          b: tf.tensor(values(bs, 32), bs),
          transposeA: ta,
          transposeB: tb,
          ...(withBias ? { bias: tf.tensor(values([n], 33), [n]) } : {}),
          activation,
        }),
      );
    }
  });

  it('leaks nothing', async () => {
    await tf.setBackend('wasm');
    await expectNoLeakedTensors(() => tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true).dataSync()));
  });
});

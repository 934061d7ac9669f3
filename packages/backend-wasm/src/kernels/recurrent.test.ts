// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { values } from '../test-helpers.js';
import { GRU_GATES_GRAD_KERNEL, GRU_GATES_KERNEL, GRU_OUT_GRAD_KERNEL, GRU_OUT_KERNEL, installRecurrentFusion, LSTM_GATES_GRAD_KERNEL, LSTM_GATES_KERNEL } from './recurrent.js';

installRecurrentFusion(); // tfjs-layers is loaded now (the package also does this when the wasm backend starts)

type Recurrent = 'hardSigmoid' | 'sigmoid';
type Cell = 'lstm' | 'gru';

function rnnModel(cell: Cell, recurrentActivation: Recurrent, dropout = 0): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.randomNormal({ stddev: 0.8, seed });
  return tfl.sequential({
    layers: [
      tfl.layers[cell]({
        units: 8, returnSequences: true, inputShape: [5, 3], recurrentActivation, dropout,
        kernelInitializer: init(1), recurrentInitializer: init(2), biasInitializer: init(3),
      }),
    ],
  });
}

/** The output and the gradient of every weight of sum(lstm(x) * w), x scaled so the hard sigmoid clips. */
function outputsAndGrads(model: tfl.LayersModel): tf.Tensor[] {
  const x = tf.tensor(values([4, 5, 3], 61), [4, 5, 3]).mul(3);
  const w = tf.tensor(values([4, 5, 8], 62), [4, 5, 8]);
  const vars = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(() => (model.apply(x, { training: true }) as tf.Tensor).mul(w).sum() as tf.Scalar, vars);
  return [model.apply(x) as tf.Tensor, value, ...vars.map((v) => grads[v.name]!)];
}

async function kernelsRun(fn: () => void): Promise<string[]> {
  return (await tf.profile(() => void fn())).kernels.map((k) => k.name);
}

const FUSED: Record<Cell, { forward: string[]; backward: string[] }> = {
  lstm: { forward: [LSTM_GATES_KERNEL], backward: [LSTM_GATES_GRAD_KERNEL] },
  gru: { forward: [GRU_GATES_KERNEL, GRU_OUT_KERNEL], backward: [GRU_GATES_GRAD_KERNEL, GRU_OUT_GRAD_KERNEL] },
};

for (const cell of ['lstm', 'gru'] as const) {
  describe(`the fused ${cell.toUpperCase()} step on wasm`, () => {
    for (const recurrent of ['hardSigmoid', 'sigmoid'] as const) {
      it(`matches cpu: outputs over 5 steps and every weight's gradient (${recurrent})`, async () => {
        const results: Record<string, Float32Array[]> = {};
        for (const backend of ['cpu', 'wasm']) {
          await tf.setBackend(backend);
          const model = rnnModel(cell, recurrent);
          results[backend] = tf.tidy(() => outputsAndGrads(model).map((t) => Float32Array.from(t.dataSync())));
          model.dispose();
        }
        for (const [i, c] of results.cpu!.entries()) expectTensorsClose(results.wasm![i]!, c, 1e-5, 1e-4);
      });
    }

    it('runs its fused kernels each step both ways (no Tanh, no clip), leaks nothing; dropout keeps the stock step', async () => {
      await tf.setBackend('wasm');
      const model = rnnModel(cell, 'hardSigmoid');
      const names = await kernelsRun(() => tf.tidy(() => void outputsAndGrads(model)));
      for (const k of FUSED[cell].forward) expect(names.filter((n) => n === k).length).toBeGreaterThanOrEqual(5);
      for (const k of FUSED[cell].backward) expect(names.filter((n) => n === k)).toHaveLength(5);
      expect(names).not.toContain(tf.Tanh);
      expect(names).not.toContain(tf.ClipByValue);
      await expectNoLeakedTensors(() => tf.tidy(() => void outputsAndGrads(model)));
      model.dispose();
      const withDropout = rnnModel(cell, 'hardSigmoid', 0.3);
      const stock = await kernelsRun(() => tf.tidy(() => void outputsAndGrads(withDropout)));
      expect(stock).not.toContain(FUSED[cell].forward[0]);
      withDropout.dispose();
    });
  });
}

// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { values } from '../test-helpers.js';
import { installLstmFusion, LSTM_GATES_GRAD_KERNEL, LSTM_GATES_KERNEL } from './lstm.js';

installLstmFusion(); // tfjs-layers is loaded now (the package also does this when the wasm backend starts)

type Recurrent = 'hardSigmoid' | 'sigmoid';

function lstmModel(recurrentActivation: Recurrent, dropout = 0): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.randomNormal({ stddev: 0.8, seed });
  return tfl.sequential({
    layers: [
      tfl.layers.lstm({
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

describe('the fused LSTM step on wasm', () => {
  for (const recurrent of ['hardSigmoid', 'sigmoid'] as const) {
    it(`matches cpu: outputs over 5 steps and every weight's gradient (${recurrent})`, async () => {
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const model = lstmModel(recurrent);
        results[backend] = tf.tidy(() => outputsAndGrads(model).map((t) => Float32Array.from(t.dataSync())));
        model.dispose();
      }
      for (const [i, c] of results.cpu!.entries()) expectTensorsClose(results.wasm![i]!, c, 1e-5, 1e-4);
    });
  }

  it('runs one kernel per step each way (no Tanh, no clip), leaks nothing; dropout keeps the stock step', async () => {
    await tf.setBackend('wasm');
    const model = lstmModel('hardSigmoid');
    const names = await kernelsRun(() => tf.tidy(() => void outputsAndGrads(model)));
    expect(names.filter((n) => n === LSTM_GATES_KERNEL).length).toBeGreaterThanOrEqual(5);
    expect(names.filter((n) => n === LSTM_GATES_GRAD_KERNEL)).toHaveLength(5);
    expect(names).not.toContain(tf.Tanh);
    expect(names).not.toContain(tf.ClipByValue);
    await expectNoLeakedTensors(() => tf.tidy(() => void outputsAndGrads(model)));
    model.dispose();
    const withDropout = lstmModel('hardSigmoid', 0.3);
    const stock = await kernelsRun(() => tf.tidy(() => void outputsAndGrads(withDropout)));
    expect(stock).not.toContain(LSTM_GATES_KERNEL);
    withDropout.dispose();
  });
});

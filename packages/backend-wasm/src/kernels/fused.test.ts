// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onBoth, values, valueAndGrads } from '../test-helpers.js';
import { ADAM_UPDATE_KERNEL, RELU_GRAD_KERNEL } from './fused.js';

/** Kernel names a function runs on the current backend. */
async function kernelsRun(fn: () => void): Promise<string[]> {
  const p = await tf.profile(() => {
    fn();
  });
  return p.kernels.map((k) => k.name);
}

/** Gradients by variable name (tfjs types the map as variables; any tensors do). */
const grads = (m: Record<string, tf.Tensor>) => m as unknown as Parameters<tf.AdamOptimizer["applyGradients"]>[0];

describe('fused Adam on wasm', () => {
  it('gives the stock optimizer bit for bit (weights, moments, iterations) over several steps', async () => {
    const results: Record<string, { vars: Float32Array[]; state: { name: string; data: Float32Array }[] }> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const a = tf.variable(tf.tensor(values([13], 1), [13]), true, `fusedAdamA_${backend}`);
      const b = tf.variable(tf.tensor(values([3, 5], 2), [3, 5]), true, `fusedAdamB_${backend}`);
      const opt = tf.train.adam(0.01, 0.8, 0.95, 1e-6);
      const names: string[] = [];
      for (let s = 0; s < 7; s++) {
        const ga = tf.tensor(values([13], 10 + s), [13]);
        // Exact zeros every third step (v stays 0 there) and large values (the square grows).
        const gb = tf.tidy(() => tf.tensor(values([3, 5], 20 + s), [3, 5]).mul(s % 3 === 0 ? 0 : 1e3));
        const k = await kernelsRun(() => opt.applyGradients(grads({ [a.name]: ga, [b.name]: gb })));
        names.push(...k);
        tf.dispose([ga, gb]);
      }
      expect(names.includes(ADAM_UPDATE_KERNEL)).toBe(backend === 'wasm');
      const state = (await opt.getWeights()).map((w) => ({ name: w.name.replace(`_${backend}`, ''), data: Float32Array.from(w.tensor.dataSync()) }));
      results[backend] = { vars: [a, b].map((v) => Float32Array.from(v.dataSync())), state };
      tf.dispose([a, b]);
      opt.dispose();
    }
    expect(results.wasm!.vars).toEqual(results.cpu!.vars);
    expect(results.wasm!.state.map((s) => s.name)).toEqual(results.cpu!.state.map((s) => s.name));
    expect(results.wasm!.state).toEqual(results.cpu!.state);
    expect(results.wasm!.state[0]!.data[0]).toBe(7); // the iteration count
  });

  it('does not leak: tensor count stable over repeated steps', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.ones([37]), true, 'fusedAdamLeak');
    const opt = tf.train.adam(0.1);
    const g = tf.fill([37], 0.5);
    opt.applyGradients(grads({ fusedAdamLeak: g })); // creates the moments once
    await expectNoLeakedTensors(() => opt.applyGradients(grads({ fusedAdamLeak: g })));
    tf.dispose([v, g]);
    opt.dispose();
  });
});

describe('fused ReLU gradient on wasm', () => {
  it('matches cpu, NaN and infinities included, and runs as one kernel', async () => {
    const x = values([5, 7, 3], 3);
    x[0] = Number.NaN;
    x[1] = 0;
    x[2] = -0;
    x[3] = Number.POSITIVE_INFINITY;
    const w = values([5, 7, 3], 4);
    w[4] = Number.POSITIVE_INFINITY; // dy infinite where x <= 0 gives NaN (inf * 0), as stock does
    x[4] = -1;
    const f = (t: tf.Tensor) => tf.relu(t).mul(tf.tensor(w, [5, 7, 3]));
    const { cpu, wasm } = await onBoth(() => tf.grad(f)(tf.tensor(x, [5, 7, 3])));
    expect(Array.from(wasm[0]!).map(String)).toEqual(Array.from(cpu[0]!).map(String));
    await tf.setBackend('wasm');
    const names = await kernelsRun(() => {
      tf.dispose(tf.grad(f)(tf.tensor(x, [5, 7, 3])));
    });
    expect(names).toContain(RELU_GRAD_KERNEL);
    expect(names).not.toContain('Step');
  });

  it('second derivatives through relu match cpu', async () => {
    await expectSameOnBoth(() => {
      const x = tf.tensor(values([4, 6], 5), [4, 6]);
      // d/dx of sum(relu'(x) * x^2 * c): exercises the fused kernel's own gradient.
      const inner = (t: tf.Tensor) => tf.relu(t).square().sum() as tf.Scalar;
      return valueAndGrads((t) => tf.grad(inner)(t!).mul(t!), [x]);
    });
  });

  it('stays in place when tfjs-layers is imported after this package (its bundle re-registers the stock gradients)', async () => {
    await import('@tensorflow/tfjs-layers');
    await tf.setBackend('wasm');
    const names = await kernelsRun(() => {
      tf.dispose(tf.grad((t: tf.Tensor) => tf.relu(t).sum())(tf.tensor1d([1, -1, 2])));
    });
    expect(names).toContain(RELU_GRAD_KERNEL);
  });

  it('does not leak', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(values([64], 6), [64]);
    await expectNoLeakedTensors(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.relu(t).sum())(x).dataSync()));
    x.dispose();
  });
});

describe('fused conv2d + bias + ReLU while training on wasm', () => {
  const xs: [number, number, number, number] = [2, 10, 9, 8];
  const fs: [number, number, number, number] = [3, 3, 8, 16];
  const layer = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
    tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'relu' });

  it('matches cpu (value and the gradients of input, filter and bias), with and without a bias', async () => {
    await expectSameOnBoth(
      () => valueAndGrads(layer, [tf.tensor(values(xs, 41), xs), tf.tensor(values(fs, 42), fs), tf.tensor(values([16], 43), [16])]),
      5e-4,
    );
    await expectSameOnBoth(
      () =>
        valueAndGrads(
          (x, f) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', activation: 'relu' }),
          [tf.tensor(values([2, 12, 12, 1], 44), [2, 12, 12, 1]), tf.tensor(values([3, 3, 1, 8], 45), [3, 3, 1, 8])],
        ),
      5e-4,
    );
  });

  it('runs one FusedConv2D forward (no Add, no Relu) and no input gradient when only the weights need one', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(values(xs, 46), xs);
    const f = tf.variable(tf.tensor(values(fs, 47), fs));
    const b = tf.variable(tf.tensor(values([16], 48), [16]));
    const names = await kernelsRun(() => {
      const { value, grads: g } = tf.variableGrads(() => layer(x, f, b).sum() as tf.Scalar, [f, b]);
      tf.dispose([value, ...Object.values(g)]);
    });
    expect(names).toContain(tf.FusedConv2D);
    expect(names).toContain(tf.Conv2DBackpropFilter);
    expect(names).not.toContain(tf.Conv2DBackpropInput);
    expect(names).not.toContain(tf.Relu);
    expect(names).not.toContain(tf.Add);
    await expectNoLeakedTensors(() => {
      const { value, grads: g } = tf.variableGrads(() => layer(x, f, b).sum() as tf.Scalar, [f, b]);
      tf.dispose([value, ...Object.values(g)]);
    });
    tf.dispose([x, f, b]);
  });
});


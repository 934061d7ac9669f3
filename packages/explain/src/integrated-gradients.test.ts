import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeAttributions, integratedGradients } from './integrated-gradients.js';
import { INTEGRATION_METHODS, quadrature } from './quadrature.js';

beforeAll(() => tf.setBackend('cpu'));

const W = [0.5, -1.25, 2, 0.75];
const B = 0.3;
const X = [
  [1, 2, -0.5, 3],
  [-2, 0.25, 1.5, -1],
  [0.1, -0.7, 0.9, 2.2],
];

/** One dense unit with known weights: linear (regression) or sigmoid (logistic). */
function dense1(activation: 'linear' | 'sigmoid', name = 'x'): tfl.LayersModel {
  const x = tfl.input({ shape: [W.length], name });
  const layer = tfl.layers.dense({ units: 1, activation, name: 'output' });
  const y = layer.apply(x) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: y });
  layer.setWeights([tf.tensor2d(W, [W.length, 1]), tf.tensor1d([B])]);
  return m;
}

/** A smooth nonlinear MLP (tanh), seeded, 3 classes. */
function mlp(seed = 3): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 16, activation: 'tanh', inputShape: [4], kernelInitializer: tfl.initializers.glorotNormal({ seed }) }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) }));
  return m;
}

describe('quadrature', () => {
  it('gauss-legendre with n points integrates polynomials of degree 2n − 1 exactly on [0, 1]', () => {
    for (const n of [1, 2, 5, 16, 50]) {
      const { alphas, weights } = quadrature('gauss-legendre', n);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (const d of [0, 1, 2 * n - 1]) {
        const approx = alphas.reduce((s, a, i) => s + weights[i]! * a ** d, 0);
        expect(approx).toBeCloseTo(1 / (d + 1), 10);
      }
      for (const a of alphas) expect(a > 0 && a < 1).toBe(true);
    }
  });

  it('riemann rules: weights sum to 1; trapezoid and middle are exact on lines', () => {
    for (const m of INTEGRATION_METHODS) {
      const { alphas, weights } = quadrature(m, 7);
      expect(alphas).toHaveLength(7);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    for (const m of ['riemann-trapezoid', 'riemann-middle'] as const) {
      const { alphas, weights } = quadrature(m, 7);
      expect(alphas.reduce((s, a, i) => s + weights[i]! * (3 * a + 1), 0)).toBeCloseTo(2.5, 12);
    }
    expect(quadrature('riemann-left', 4).alphas).toEqual([0, 0.25, 0.5, 0.75]);
    expect(quadrature('riemann-right', 4).alphas).toEqual([0.25, 0.5, 0.75, 1]);
    expect(() => quadrature('riemann-left', 0)).toThrow(/steps/);
  });
});

describe('integrated gradients: closed forms', () => {
  it('a linear model: IG = w · (x − baseline) exactly, every method, any steps; completeness gap 0', () => {
    const model = dense1('linear');
    const x = tf.tensor2d(X);
    const mean = tf.tensor1d([0.2, -0.1, 0.4, 1]);
    for (const method of INTEGRATION_METHODS) {
      for (const [baseline, b] of [
        ['zeros', [0, 0, 0, 0]],
        ['mean', [0.2, -0.1, 0.4, 1]],
      ] as const) {
        const r = integratedGradients(model, x, { method, steps: method === 'riemann-trapezoid' ? 2 : 1, baseline, mean });
        const expected = X.map((row) => row.map((v, j) => W[j]! * (v - b[j]!)));
        expectTensorsClose(r.attributions.x!, tf.tensor2d(expected), 1e-5, 1e-5);
        for (let i = 0; i < X.length; i++) {
          const fx = X[i]!.reduce((s, v, j) => s + W[j]! * v, B);
          const fb = b.reduce((s, v, j) => s + W[j]! * v, B);
          expect(r.outputs[i]).toBeCloseTo(fx, 5);
          expect(r.baselineOutputs[i]).toBeCloseTo(fb, 5);
          expect(r.delta[i]).toBeLessThan(1e-4);
        }
        disposeAttributions(r);
      }
    }
    tf.dispose([x, mean]);
  });

  it('a logistic model: IG_i = w_i (x_i − b_i) · (f(x) − f(b)) / (w · (x − b)), so Σ IG = f(x) − f(b)', () => {
    const model = dense1('sigmoid');
    const x = tf.tensor2d(X);
    const r = integratedGradients(model, x, { steps: 50 });
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const expected = X.map((row) => {
      const z = row.reduce((s, v, j) => s + W[j]! * v, 0);
      const scale = (sig(z + B) - sig(B)) / z;
      return row.map((v, j) => W[j]! * v * scale);
    });
    expectTensorsClose(r.attributions.x!, tf.tensor2d(expected), 1e-5, 1e-4);
    for (const g of r.gap) expect(g).toBeLessThan(1e-4);
    disposeAttributions(r);
    x.dispose();
  });

  it('logits: on a logistic model, IG of the logit is w · (x − baseline) exactly; a linear output is refused', () => {
    const model = dense1('sigmoid');
    const x = tf.tensor2d(X);
    const r = integratedGradients(model, x, { steps: 3, logits: true });
    expectTensorsClose(r.attributions.x!, tf.tensor2d(X.map((row) => row.map((v, j) => W[j]! * v))), 1e-5, 1e-5);
    for (const [i, row] of X.entries()) expect(r.outputs[i]).toBeCloseTo(row.reduce((s, v, j) => s + W[j]! * v, B), 5);
    // The model itself is left as it was: its output is a probability again.
    const p = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()[0]!);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
    disposeAttributions(r);
    expect(() => integratedGradients(dense1('linear'), x, { logits: true })).toThrow(/logits needs an output layer ending in sigmoid or softmax/);
    x.dispose();
  });

  it('the completeness gap shrinks towards 0 as steps grow (nonlinear MLP, every method)', () => {
    const model = mlp();
    const x = tf.tensor2d(X.map((r) => r.map((v) => 2 * v)));
    for (const method of ['riemann-left', 'riemann-trapezoid', 'gauss-legendre'] as const) {
      const gaps = [4, 16, 64].map((steps) => {
        const r = integratedGradients(model, x, { method, steps, target: 1 });
        disposeAttributions(r);
        return Math.max(...r.delta);
      });
      expect(gaps[2]!).toBeLessThan(gaps[0]!);
      expect(gaps[2]!).toBeLessThan(method === 'riemann-left' ? 2e-2 : 1e-3);
    }
    const r = integratedGradients(model, x, { steps: 50, target: 1 });
    for (const g of r.gap) expect(g).toBeLessThan(0.01);
    disposeAttributions(r);
    x.dispose();
  });

  it('internal batching does not change the result; same inputs, same numbers', () => {
    const model = mlp(9);
    const x = tf.tensor2d(X);
    const a = integratedGradients(model, x, { steps: 20 });
    const b = integratedGradients(model, x, { steps: 20, internalBatchSize: 3 });
    expectTensorsClose(Object.values(a.attributions)[0]!, Object.values(b.attributions)[0]!, 1e-6, 1e-5);
    expect(a.targets).toEqual(b.targets);
    const c = integratedGradients(model, x, { steps: 20 });
    expect(Array.from(Object.values(c.attributions)[0]!.dataSync())).toEqual(Array.from(Object.values(a.attributions)[0]!.dataSync()));
    [a, b, c].forEach(disposeAttributions);
    x.dispose();
  });

  it('token ids are explained through the embedding: per-token IG in closed form for embedding → mean → linear', () => {
    const vocab = 6;
    const dim = 3;
    const len = 5;
    const ids = tfl.input({ shape: [len], dtype: 'int32', name: 'text' });
    const embLayer = tfl.layers.embedding({ inputDim: vocab, outputDim: dim, name: 'embedding' });
    const pooled = tfl.layers.globalAveragePooling1d({}).apply(embLayer.apply(ids)) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 1, name: 'output' });
    const model = tfl.model({ inputs: ids, outputs: out.apply(pooled) as tfl.SymbolicTensor });
    const E = Array.from({ length: vocab }, (_, t) => Array.from({ length: dim }, (_, d) => Math.sin(t * 3 + d) * 0.8));
    const w = [1.5, -0.5, 0.25];
    embLayer.setWeights([tf.tensor2d(E)]);
    out.setWeights([tf.tensor2d(w, [dim, 1]), tf.tensor1d([0.1])]);
    const tokens = [
      [1, 4, 2, 0, 0],
      [5, 5, 3, 1, 2],
    ];
    const x = tf.tensor2d(tokens, undefined, 'int32');
    const r = integratedGradients(model, x, { steps: 8, tokenBaseline: 'pad' });
    expect(r.attributions.text!.shape).toEqual([2, len]);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const expected = tokens.map((row) => row.map((t) => dot(w, E[t]!.map((v, d) => v - E[0]![d]!)) / len));
    expectTensorsClose(r.attributions.text!, tf.tensor2d(expected), 1e-5, 1e-4);
    // A padding token (id 0) is the baseline: attribution exactly 0.
    expect(r.attributions.text!.arraySync() as number[][]).toSatisfy((a: number[][]) => a[0]![3] === 0);
    for (const d of r.delta) expect(d).toBeLessThan(1e-5);
    // The default token baseline is a zero vector: attribution w · E[t] / len.
    const z = integratedGradients(model, x, { steps: 8 });
    expectTensorsClose(z.attributions.text!, tf.tensor2d(tokens.map((row) => row.map((t) => dot(w, E[t]!) / len))), 1e-5, 1e-4);
    [r, z].forEach(disposeAttributions);
    x.dispose();
  });

  it('multi-input models: per-input attributions; their sums say how much each input mattered', () => {
    const a = tfl.input({ shape: [2], name: 'tabular' });
    const b = tfl.input({ shape: [3], name: 'extra' });
    const joined = tfl.layers.concatenate({}).apply([a, b]) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 1, name: 'output' });
    const model = tfl.model({ inputs: [a, b], outputs: out.apply(joined) as tfl.SymbolicTensor });
    const w = [1, -2, 0.5, 0.5, 3];
    out.setWeights([tf.tensor2d(w, [5, 1]), tf.tensor1d([0])]);
    const xa = tf.tensor2d([[1, 1]]);
    const xb = tf.tensor2d([[2, 0, 1]]);
    const r = integratedGradients(model, { tabular: xa, extra: xb }, { steps: 4 });
    expectTensorsClose(r.attributions.tabular!, [1, -2]);
    expectTensorsClose(r.attributions.extra!, [1, 0, 3]);
    disposeAttributions(r);
    tf.dispose([xa, xb]);
  });

  it('explains the class asked for, and fails clearly on a bad target or a missing mean', () => {
    const model = mlp();
    const x = tf.tensor2d(X);
    const r = integratedGradients(model, x, { target: [0, 1, 2], steps: 4 });
    expect(r.targets).toEqual([0, 1, 2]);
    disposeAttributions(r);
    expect(() => integratedGradients(model, x, { target: 3 })).toThrow(/target received 3; expected an integer in 0..2/);
    expect(() => integratedGradients(model, x, { baseline: 'mean' })).toThrow(/needs the training mean/);
    expect(() => integratedGradients(model, x, { baseline: 'blur' })).toThrow(/needs images/);
    x.dispose();
  });

  it('leaks no tensors (floats and token ids)', async () => {
    const model = mlp();
    const x = tf.tensor2d(X);
    await expectNoLeakedTensors(() => disposeAttributions(integratedGradients(model, x, { steps: 6, internalBatchSize: 4 })));
    const ids = tfl.input({ shape: [4], dtype: 'int32', name: 'text' });
    const e = tfl.layers.embedding({ inputDim: 5, outputDim: 2, embeddingsInitializer: tfl.initializers.randomUniform({ seed: 1 }) });
    const text = tfl.model({
      inputs: ids,
      outputs: tfl.layers.dense({ units: 2, activation: 'softmax' }).apply(tfl.layers.flatten().apply(e.apply(ids))) as tfl.SymbolicTensor,
    });
    const t = tf.tensor2d([[1, 2, 3, 0]], undefined, 'int32');
    await expectNoLeakedTensors(() => disposeAttributions(integratedGradients(text, t, { steps: 5 })));
    tf.dispose([x, t]);
  });
});

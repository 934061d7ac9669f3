import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@tfpipe/core';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { MultiHeadSelfAttention } from './attention.js';
import { AttentionPooling, MaskedSequencePooling } from './pooling.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type M = number[][];
const matmul = (a: M, b: M): M =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const addBias = (a: M, b: number[]): M => a.map((row) => row.map((v, j) => v + b[j]!));
const transpose = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
const softmaxRow = (r: number[]) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const cols = (a: M, from: number, n: number): M => a.map((row) => row.slice(from, from + n));

/** softmax(Q K^T / sqrt(k)) V per head, keys with id 0 excluded, heads concatenated, then W_o: in plain loops. */
function referenceAttention(
  x: M,
  ids: number[],
  w: Record<string, M | number[]>,
  heads: number,
  k: number,
): M {
  const q = addBias(matmul(x, w.qk as M), w.qb as number[]);
  const key = addBias(matmul(x, w.kk as M), w.kb as number[]);
  const v = addBias(matmul(x, w.vk as M), w.vb as number[]);
  const perHead: M[] = [];
  for (let h = 0; h < heads; h++) {
    const qh = cols(q, h * k, k);
    const kh = cols(key, h * k, k);
    const vh = cols(v, h * k, k);
    const scores = matmul(qh, transpose(kh)).map((row) =>
      row.map((s, j) => (ids[j] === 0 ? Number.NEGATIVE_INFINITY : s / Math.sqrt(k))),
    );
    perHead.push(matmul(scores.map(softmaxRow), vh));
  }
  const concat = x.map((_, i) => perHead.flatMap((p) => p[i]!));
  return addBias(matmul(concat, w.ok as M), w.ob as number[]);
}

function setUp(
  heads: number,
  k: number,
  d: number,
  len: number,
  w: Record<string, M | number[]>,
): MultiHeadSelfAttention {
  const layer = new MultiHeadSelfAttention({ numHeads: heads, keyDim: k, seed: 1 });
  // A first eager call builds the layer (and makes it disposable); then the weights are set.
  tf.tidy(() => {
    layer.apply([tf.zeros([1, len, d]), tf.ones([1, len], 'int32')]);
  });
  const t = (v: M | number[]) => tf.tensor(v as number[][]);
  const weights = [w.qk, w.qb, w.kk, w.kb, w.vk, w.vb, w.ok, w.ob].map((v) => t(v!));
  layer.setWeights(weights);
  tf.dispose(weights);
  return layer;
}

describe('MultiHeadSelfAttention', () => {
  it('matches softmax(QK^T/sqrt(d))V on a case small enough to do by hand', () => {
    // X = I, all projections identity, no bias, one head of width 2: scores = I / sqrt(2), so each row
    // attends to itself with e^(1/√2) / (e^(1/√2) + 1) and to the other token with 1 / (e^(1/√2) + 1).
    const I = [
      [1, 0],
      [0, 1],
    ];
    const layer = setUp(1, 2, 2, 2, {
      qk: I,
      qb: [0, 0],
      kk: I,
      kb: [0, 0],
      vk: I,
      vb: [0, 0],
      ok: I,
      ob: [0, 0],
    });
    const e = Math.exp(1 / Math.SQRT2);
    const self = e / (e + 1);
    const other = 1 / (e + 1);
    const out = tf.tidy(
      () => layer.apply([tf.tensor3d([I]), tf.tensor2d([[1, 2]], undefined, 'int32')]) as tf.Tensor,
    );
    expectTensorsClose(out, [self, other, other, self], 1e-6);
    // The second token is padding: both rows attend only to token 0, whose value is [1, 0].
    const masked = tf.tidy(
      () => layer.apply([tf.tensor3d([I]), tf.tensor2d([[1, 0]], undefined, 'int32')]) as tf.Tensor,
    );
    expectTensorsClose(masked, [1, 0, 1, 0], 1e-6);
    tf.dispose([out, masked]);
    layer.dispose();
  });

  it('matches the plain-loop reference with two heads, biases and padding', () => {
    const rng = createRng(3);
    const r = (rows: number, c: number): M =>
      Array.from({ length: rows }, () => Array.from({ length: c }, () => rng.normal() * 0.5));
    const heads = 2;
    const k = 2;
    const d = 3;
    const len = 4;
    const w = {
      qk: r(d, heads * k),
      qb: r(1, heads * k)[0]!,
      kk: r(d, heads * k),
      kb: r(1, heads * k)[0]!,
      vk: r(d, heads * k),
      vb: r(1, heads * k)[0]!,
      ok: r(heads * k, d),
      ob: r(1, d)[0]!,
    };
    const layer = setUp(heads, k, d, len, w);
    const xs = [r(len, d), r(len, d)];
    const ids = [
      [5, 3, 0, 0],
      [1, 2, 7, 4],
    ];
    const out = tf.tidy(
      () => layer.apply([tf.tensor3d(xs), tf.tensor2d(ids, undefined, 'int32')]) as tf.Tensor,
    );
    const expected = xs.flatMap((x, b) => referenceAttention(x, ids[b]!, w, heads, k).flat());
    expectTensorsClose(out, expected, 1e-5, 1e-4);
    out.dispose();
    layer.dispose();
  });

  it('leaks no tensors when called', async () => {
    const layer = new MultiHeadSelfAttention({ numHeads: 2, keyDim: 2, seed: 1 });
    const x = tf.ones([2, 3, 4]);
    const ids = tf.tensor2d([
      [1, 2, 0],
      [3, 0, 0],
    ]);
    await expectNoLeakedTensors(() => (layer.apply([x, ids]) as tf.Tensor).dispose());
    tf.dispose([x, ids]);
    layer.dispose();
  });
});

describe('MaskedSequencePooling', () => {
  const x = [
    [
      [1, 2],
      [3, 4],
      [100, 100],
    ],
  ];
  const ids = [[7, 8, 0]];
  for (const [mode, want] of [
    ['mean', [2, 3]],
    ['max', [3, 4]],
    ['first', [1, 2]],
  ] as const) {
    it(`${mode} ignores padded positions`, () => {
      const layer = new MaskedSequencePooling({ mode });
      const out = tf.tidy(() => layer.apply([tf.tensor3d(x), tf.tensor2d(ids)]) as tf.Tensor);
      expectTensorsClose(out, [...want]);
      out.dispose();
    });
  }
});

describe('AttentionPooling', () => {
  it('is a convex combination of its inputs: softmax(q · tanh(W e_i + c)) weights', () => {
    const layer = new AttentionPooling({ seed: 1 });
    tf.tidy(() => {
      layer.apply([tf.zeros([1, 2]), tf.zeros([1, 2])]);
    });
    const W = [
      [1, 0],
      [0, 1],
    ];
    const weights = [tf.tensor2d(W), tf.tensor1d([0, 0]), tf.tensor2d([[1], [-1]])];
    layer.setWeights(weights);
    tf.dispose(weights);
    const e1 = [0.5, -0.2];
    const e2 = [-1, 0.3];
    const s1 = Math.tanh(e1[0]!) - Math.tanh(e1[1]!);
    const s2 = Math.tanh(e2[0]!) - Math.tanh(e2[1]!);
    const [a1, a2] = softmaxRow([s1, s2]) as [number, number];
    const out = tf.tidy(() => layer.apply([tf.tensor2d([e1]), tf.tensor2d([e2])]) as tf.Tensor);
    expectTensorsClose(out, [a1 * e1[0]! + a2 * e2[0]!, a1 * e1[1]! + a2 * e2[1]!], 1e-6);
    expect(a1 + a2).toBeCloseTo(1, 10);
    out.dispose();
    layer.dispose();
  });
});

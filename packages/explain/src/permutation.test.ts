import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend } from '@tfpipe/backend-wasm';
import { createRng } from '@tfpipe/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { permutationImportance } from './permutation.js';

beforeAll(async () => {
  await useWasmBackend();
});

type TabRow = { signal: number; weak: number; noise: number; label: number };

/** label = 1 when 2·signal + 0.5·weak > 0; noise is independent of everything. */
function rows(n: number, seed: number): TabRow[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const signal = rng.next() * 2 - 1;
    const weak = rng.next() * 2 - 1;
    const noise = rng.next() * 2 - 1;
    return { signal, weak, noise, label: 2 * signal + 0.5 * weak > 0 ? 1 : 0 };
  });
}

const toX = (rs: readonly TabRow[]) => tf.tensor2d(rs.map((r) => [r.signal, r.weak, r.noise]));

async function trainedLogistic(train: TabRow[]): Promise<tfl.LayersModel> {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [3], kernelInitializer: tfl.initializers.zeros() }));
  m.compile({ optimizer: tf.train.adam(0.1), loss: 'binaryCrossentropy' });
  const x = toX(train);
  const y = tf.tensor2d(train.map((r) => [r.label]));
  await m.fit(x, y, { epochs: 40, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  return m;
}

function accuracy(model: tfl.LayersModel) {
  return (rs: readonly TabRow[]) =>
    tf.tidy(() => {
      const p = (model.predict(toX(rs)) as tf.Tensor).dataSync();
      return rs.filter((r, i) => (p[i]! > 0.5 ? 1 : 0) === r.label).length / rs.length;
    });
}

describe('permutation importance', () => {
  it('ranks the informative column first and the pure-noise column last (accuracy, direction max)', async () => {
    const model = await trainedLogistic(rows(400, 1));
    const test = rows(300, 2);
    const score = accuracy(model);
    expect(score(test)).toBeGreaterThan(0.9);
    const r = await permutationImportance(test, { columns: ['noise', 'signal', 'weak'], score, direction: 'max', repeats: 5, seed: 4 });
    expect(r.importances.map((i) => i.column)).toEqual(['signal', 'weak', 'noise']);
    const [signal, , noise] = r.importances;
    // Shuffling the signal takes accuracy towards chance (0.5): a drop far above its spread.
    expect(signal!.mean).toBeGreaterThan(0.25);
    expect(signal!.mean).toBeGreaterThan(signal!.std * 5);
    expect(Math.abs(noise!.mean)).toBeLessThan(0.03);
    expect(signal!.scores).toHaveLength(5);
    expect(r.baseline).toBe(score(test));
  });

  it('follows the metric’s own direction (a loss: lower is better), and is deterministic for a seed', async () => {
    const test = rows(200, 3);
    // Any model: here a plain function of the row; the score is a mean squared error.
    const mse = (rs: readonly TabRow[]) => rs.reduce((s, r) => s + (r.label - (r.signal > 0 ? 1 : 0)) ** 2, 0) / rs.length;
    let calls = 0;
    const opts = { columns: ['signal', 'noise'], score: mse, direction: 'min' as const, repeats: 3, seed: 9 };
    const a = await permutationImportance(test, { ...opts, onProgress: () => calls++ });
    expect(calls).toBe(6);
    expect(a.importances[0]!.column).toBe('signal');
    expect(a.importances[0]!.mean).toBeGreaterThan(0.2);
    expect(a.importances[1]!.mean).toBe(0);
    const b = await permutationImportance(test, opts);
    expect(b).toEqual(a);
    const c = await permutationImportance(test, { ...opts, seed: 10 });
    expect(c.importances[0]!.scores).not.toEqual(a.importances[0]!.scores);
  });

  it('fails clearly on unknown columns and bad repeats', async () => {
    const test = rows(10, 3);
    const score = () => 1;
    await expect(permutationImportance(test, { columns: ['sginal'], score, direction: 'max' })).rejects.toThrow(
      /column "sginal" is not in the rows; they have signal, weak, noise, label/,
    );
    await expect(permutationImportance(test, { columns: ['signal'], score, direction: 'max', repeats: 0 })).rejects.toThrow(
      /repeats received 0/,
    );
  });
});

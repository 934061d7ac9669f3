import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@tfpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from './helpers.js';

// A regression whose target sits far from zero (mean 300, sd ~50), as the diabetes data of the issue:
// y = 300 + 40·x1 − 25·x2 + noise. The model is linear (an MLP with no hidden layer).
let tmp: string;
const rows: { x1: number; x2: number; x3: number; y: number }[] = [];

function config(scaling: string): string {
  return `name: far-from-zero
seed: 5
backend: cpu
data:
  source: { type: csv, path: data.csv }
  features: [x1, x2, x3]
  label: y
  task: regression
  targetScaling: ${scaling}
  split: { validation: 0.2, test: 0.2 }
model: { type: mlp, units: [] }
train:
  optimizer: { type: adam, learningRate: 0.01 }
  epochs: 40
  batchSize: 32
evaluate:
  metrics: [rmse, r2]
`;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-regression-'));
  const rng = createRng(17);
  const lines = ['x1,x2,x3,y'];
  for (let i = 0; i < 500; i++) {
    const [x1, x2, x3] = [rng.normal(), rng.normal(), rng.normal()];
    const y = 300 + 40 * x1 - 25 * x2 + 5 * rng.normal();
    rows.push({ x1, x2, x3, y });
    lines.push([x1, x2, x3, y].map((v) => v.toFixed(5)).join(','));
  }
  await writeFile(join(tmp, 'data.csv'), `${lines.join('\n')}\n`);
  for (const s of ['standardize', 'none']) await writeFile(join(tmp, `${s}.yaml`), config(s));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const r2Of = async (dir: string) => (JSON.parse(await readFile(join(dir, 'evaluation.json'), 'utf8')) as { metrics: Record<string, number> }).metrics;

describe('regression with scaled targets (real CLI runs)', () => {
  it('scaled targets fit a far-from-zero target within the same budget; unscaled ones do not', async () => {
    const scaled = await pipeline(['run', join(tmp, 'standardize.yaml'), '--out', join(tmp, 'scaled'), '--no-progress']);
    expect(scaled.code, scaled.stderr).toBe(0);
    const raw = await pipeline(['run', join(tmp, 'none.yaml'), '--out', join(tmp, 'raw'), '--no-progress']);
    expect(raw.code, raw.stderr).toBe(0);
    const [a, b] = [await r2Of(join(tmp, 'scaled')), await r2Of(join(tmp, 'raw'))];
    // The noise (sd 5) leaves R² ≈ 0.99 reachable; predicting the mean scores 0.
    expect(a.r2).toBeGreaterThan(0.95);
    expect(b.r2!).toBeLessThan(a.r2! - 0.3);
    // Metrics are in the target's own units (mpg, dollars …): RMSE near the noise, not near 1.
    expect(a.rmse).toBeGreaterThan(3);
    expect(a.rmse).toBeLessThan(8);
  }, 300_000);

  it('pipeline predict gives values in original units that reproduce evaluate\'s R² on the same rows', async () => {
    const out = join(tmp, 'preds.jsonl');
    const test = join(tmp, 'all.csv');
    await writeFile(test, `x1,x2,x3,y\n${rows.map((r) => [r.x1, r.x2, r.x3, r.y].map((v) => v.toFixed(5)).join(',')).join('\n')}\n`);
    const p = await pipeline(['predict', join(tmp, 'scaled'), '--input', test, '--output', out]);
    expect(p.code, p.stderr).toBe(0);
    const preds = (await readFile(out, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { value: number }).value);
    const ys = rows.map((r) => Number(r.y.toFixed(5)));
    const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
    const ssRes = ys.reduce((s, y, i) => s + (y - preds[i]!) ** 2, 0);
    const ssTot = ys.reduce((s, y) => s + (y - mean) ** 2, 0);
    const e = await pipeline(['evaluate', join(tmp, 'scaled'), '--data', test, '--out', join(tmp, 'eval.json')]);
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(await readFile(join(tmp, 'eval.json'), 'utf8')) as { metrics: Record<string, number> };
    expect(1 - ssRes / ssTot).toBeCloseTo(ev.metrics.r2!, 4);
    expect(ev.metrics.r2).toBeGreaterThan(0.95);
  }, 300_000);
});

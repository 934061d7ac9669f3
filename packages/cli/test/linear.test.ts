import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from './helpers.js';

// `model: { type: linear }` against scikit-learn on the same rows: tools/data/ridge-fixtures.{ts,py} wrote the
// train/test CSVs and froze scikit-learn 1.2's Ridge(alpha=1) scores (median impute + StandardScaler first).
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures', 'ridge');
interface Reference {
  ridge: { r2: number; rmse: number };
  trainRows: number;
}
let sklearn: Record<'cars' | 'synthetic', Reference>;
let tmp: string;

const SETS = {
  cars: { label: 'Miles_per_Gallon', features: ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'] },
  synthetic: { label: 'y', features: ['x1', 'x2', 'x3'] },
} as const;

function config(set: keyof typeof SETS, solver: 'exact' | 'gradient', trainRows: number): string {
  const { label, features } = SETS[set];
  return `name: ${set}-linear-${solver}
seed: 3
backend: cpu
data:
  source: { type: csv, path: ${join(fixtures, `${set}-train.csv`)} }
  features: [${features.join(', ')}]
  label: ${label}
  task: regression
  split: { test: { source: { type: csv, path: ${join(fixtures, `${set}-test.csv`)} } } }
preprocess:
  - { type: impute, columns: [${features.join(', ')}], strategy: median }
  - { type: standardize, columns: [${features.join(', ')}] }
model:
  type: linear
  solver: ${solver}
  # scikit-learn's Ridge(alpha) minimizes SSE + alpha·|w|²; ours the mean squared error + l2·|w|²: l2 = alpha / rows.
  regularization: { l2: ${1 / trainRows} }
train:
  optimizer: { type: adam, learningRate: 0.05 }
  epochs: 150
  batchSize: 64
evaluate:
  metrics: [rmse, r2]
`;
}

beforeAll(async () => {
  sklearn = JSON.parse(await readFile(join(fixtures, 'sklearn.json'), 'utf8')) as typeof sklearn;
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-linear-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function run(set: keyof typeof SETS, solver: 'exact' | 'gradient'): Promise<Record<string, number>> {
  const file = join(tmp, `${set}-${solver}.yaml`);
  await writeFile(file, config(set, solver, sklearn[set].trainRows));
  const out = join(tmp, `${set}-${solver}`);
  const r = await pipeline(['run', file, '--out', out, '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as { metrics: Record<string, number> }).metrics;
}

describe('linear regression matches scikit-learn\'s Ridge on the same rows', () => {
  for (const set of ['cars', 'synthetic'] as const) {
    it(`${set}: the exact solver within 0.001 R² (and RMSE within 0.1%)`, async () => {
      const m = await run(set, 'exact');
      expect(Math.abs(m.r2! - sklearn[set].ridge.r2)).toBeLessThan(0.001);
      expect(Math.abs(m.rmse! / sklearn[set].ridge.rmse - 1)).toBeLessThan(0.001);
    }, 300_000);
  }

  it('cars: trained by gradient (Adam, scaled targets) within 0.01 R²', async () => {
    const m = await run('cars', 'gradient');
    expect(Math.abs(m.r2! - sklearn.cars.ridge.r2)).toBeLessThan(0.01);
  }, 300_000);
});

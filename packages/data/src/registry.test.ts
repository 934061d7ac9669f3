import { isTfpipeError } from '@tfpipe/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Dataset } from './dataset.js';
import { createSourceRegistry, openSource, sourceSchema } from './registry.js';
import { makeSource } from './source.js';
import { RowErrors } from './problems.js';

describe('source registry and openSource', () => {
  it('lists the built-in types and suggests the nearest for a typo', async () => {
    expect(createSourceRegistry().types().sort()).toEqual(['arrays', 'csv', 'idx', 'images', 'json', 'jsonl', 'text', 'tsv']);
    const e = await openSource({ type: 'cvs', path: 'x' }, { baseDir: '.' }).catch((x) => x);
    expect(isTfpipeError(e, 'E_UNKNOWN_TYPE')).toBe(true);
    expect(e.message).toContain('did you mean "csv"');
  });

  it('sourceSchema is strict and fills defaults', () => {
    const parsed = sourceSchema.parse({ type: 'csv', path: 'a.csv' });
    expect(parsed).toMatchObject({ header: true, delimiter: ',', onError: 'fail', parser: 'auto', inferRows: 1000 });
    expect(sourceSchema.parse({ type: 'tsv', path: 'a.tsv' })).toMatchObject({ delimiter: '\t' });
    expect(sourceSchema.safeParse({ type: 'csv', path: 'a.csv', limt: 3 }).success).toBe(false);
    expect(z.toJSONSchema(sourceSchema, { io: 'input' })).toBeTruthy();
  });

  it('accepts a custom source type', async () => {
    const reg = createSourceRegistry();
    const schema = z.object({ type: z.literal('counter'), n: z.number().int() }).strict();
    reg.register({
      type: 'counter',
      schema,
      open: async (c: z.output<typeof schema>) =>
        makeSource({ columns: [{ name: 'i', kind: 'number' }], size: c.n, errors: new RowErrors('fail', []), rows: () => Array.from({ length: c.n }, (_, i) => ({ i })) }),
    });
    const src = await openSource({ type: 'counter', n: 3 }, { baseDir: '.', registry: reg });
    expect(await src.rows().toArray()).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(src.rows()).toBeInstanceOf(Dataset);
  });
});

describe('arrays source', () => {
  it('reads rows or columns, infers kinds, checks declared shapes', async () => {
    const src = await openSource(
      { type: 'arrays', columns: { x: [1, 2, 3], v: [new Float32Array(2), new Float32Array(2), new Float32Array(2)], s: ['a', 'b', null] } },
      { baseDir: '.' },
    );
    expect(src.size).toBe(3);
    expect(src.columns).toEqual([
      { name: 'x', kind: 'number' },
      { name: 'v', kind: 'vector', shape: [2] },
      { name: 's', kind: 'string' },
    ]);
    expect((await src.rows().toArray())[2]).toEqual({ x: 3, v: new Float32Array(2), s: null });
    const img = await openSource(
      { type: 'arrays', rows: [{ px: new Uint8Array([1, 2, 3, 4]) }, { px: new Uint8Array(3) }], types: { px: { type: 'image', shape: [2, 2, 1] } }, onError: 'skip' },
      { baseDir: '.' },
    );
    expect(img.columns).toEqual([{ name: 'px', kind: 'image', shape: [2, 2, 1] }]);
    expect(await img.rows().toArray()).toEqual([{ px: Float32Array.from([1, 2, 3, 4]) }]);
    expect(img.problems()).toEqual([{ file: 'arrays', record: 2, column: 'px', message: 'expected 4 values, found 3' }]);
  });
});

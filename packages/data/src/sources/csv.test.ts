import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, isTfpipeError } from '@tfpipe/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowErrors } from '../problems.js';
import { openSource } from '../registry.js';
import type { Row } from '../types.js';
import { fastNumericRows, parseNumberBytes } from './csv-fast.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function open(config: Record<string, unknown>) {
  return openSource(config as never, { baseDir: dir });
}

async function catchError(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('csv source', () => {
  it('reads a header, infers types, quoted fields and missing values', async () => {
    await file('a.csv', 'id,score,name,ok\n1,2.5,"Smith, J",true\n2,,"say ""hi""",false\n3,NA,"multi\nline",TRUE\n');
    const src = await open({ type: 'csv', path: 'a.csv' });
    expect(src.columns).toEqual([
      { name: 'id', kind: 'number' },
      { name: 'score', kind: 'number' },
      { name: 'name', kind: 'string' },
      { name: 'ok', kind: 'boolean' },
    ]);
    expect(await src.rows().toArray()).toEqual([
      { id: 1, score: 2.5, name: 'Smith, J', ok: true },
      { id: 2, score: null, name: 'say "hi"', ok: false },
      { id: 3, score: null, name: 'multi\nline', ok: true },
    ]);
    expect(src.skipped()).toBe(0);
  });

  it('reads files without header, other delimiters, declared types and TSV', async () => {
    await file('b.csv', '1;x;3\n4;y;6\n');
    const src = await open({ type: 'csv', path: 'b.csv', header: false, delimiter: ';', types: { c0: 'string' } });
    expect(src.columns.map((c) => `${c.name}:${c.kind}`)).toEqual(['c0:string', 'c1:string', 'c2:number']);
    expect(await src.rows().toArray()).toEqual([
      { c0: '1', c1: 'x', c2: 3 },
      { c0: '4', c1: 'y', c2: 6 },
    ]);
    await file('c.tsv', 'a\tb\n1\thello world\n');
    const tsv = await open({ type: 'tsv', path: 'c.tsv', columnNames: ['x', 'y'] });
    expect(await tsv.rows().toArray()).toEqual([{ x: 1, y: 'hello world' }]);
  });

  it('reads vector columns and selects columns', async () => {
    await file('v.csv', 'emb,label\n"0.5 1 -2",a\n"3 4 5",b\n');
    const src = await open({ type: 'csv', path: 'v.csv', types: { emb: { type: 'vector', shape: [3] } }, select: ['label', 'emb'] });
    expect(src.columns).toEqual([
      { name: 'label', kind: 'string' },
      { name: 'emb', kind: 'vector', shape: [3] },
    ]);
    const rows = await src.rows().toArray();
    expect(rows[0]).toEqual({ label: 'a', emb: Float32Array.from([0.5, 1, -2]) });
  });

  it('names file, line and column of an unparsable number', async () => {
    const p = await file('bad.csv', 'x,y\n1,2\n3,abc\n5,6\n');
    for (const parser of ['csv-parse', 'fast']) {
      const src = await open({ type: 'csv', path: 'bad.csv', types: { y: 'number' }, parser });
      const e = await catchError(src.rows().toArray());
      expect(isTfpipeError(e, 'E_DATA')).toBe(true);
      expect(e.message).toContain(`${p}, line 3, column "y": cannot read "abc" as a number`);
    }
  });

  it('names the line with the wrong number of fields', async () => {
    const p = await file('count.csv', 'x,y\n1,2\n3\n4,5,6\n7,8\n');
    for (const parser of ['csv-parse', 'fast']) {
      const src = await open({ type: 'csv', path: 'count.csv', parser });
      const e = await catchError(src.rows().toArray());
      expect(e.message).toContain(`${p}, line 3: expected 2 fields, found 1`);
    }
  });

  it('onError: skip skips and counts bad rows, once however many passes', async () => {
    await file('skip.csv', 'x,y\n1,2\n3\n4,5,6\n7,oops\n9,10\n');
    for (const parser of ['csv-parse', 'fast']) {
      const src = await open({ type: 'csv', path: 'skip.csv', types: { y: 'number' }, onError: 'skip', parser });
      expect(await src.rows().toArray()).toEqual([
        { x: 1, y: 2 },
        { x: 9, y: 10 },
      ]);
      await src.rows().toArray();
      expect(src.skipped()).toBe(3);
      expect(src.problems().map((p) => [p.line, p.column])).toEqual([
        [3, undefined],
        [4, undefined],
        [5, 'y'],
      ]);
    }
  });

  it('limit reads the first n rows', async () => {
    await file('lim.csv', `v\n${Array.from({ length: 100 }, (_, i) => i).join('\n')}\n`);
    const src = await open({ type: 'csv', path: 'lim.csv', limit: 5 });
    expect(src.size).toBeUndefined();
    expect(src.rows().size).toBe(undefined);
    expect((await src.rows().toArray()).map((r) => r.v)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects unknown columns, options and impossible parser choices, with suggestions', async () => {
    await file('s.csv', 'alpha,beta\n1,x\n');
    let e = await catchError(open({ type: 'csv', path: 's.csv', select: ['alpah'] }));
    expect(e.message).toContain('data.source.select[0]: no such column; received "alpah"');
    expect(e.message).toContain('did you mean "alpha"');
    e = await catchError(open({ type: 'csv', path: 's.csv', delimter: ';' }));
    expect(e.message).toContain('did you mean "delimiter"');
    e = await catchError(open({ type: 'csv', path: 's.csv', parser: 'fast' }));
    expect(e.message).toContain('column "beta" is "string"');
    e = await catchError(open({ type: 'csv', path: 'nope.csv' }));
    expect(e.message).toContain('does not exist');
  });

  it('the fast reader and csv-parse give identical rows on a messy numeric file', async () => {
    const rng = createRng(5);
    const lines = ['a,b,c,d'];
    for (let i = 0; i < 3000; i++) {
      const f = () => {
        const r = rng.next();
        if (r < 0.05) return '';
        if (r < 0.08) return 'NA';
        if (r < 0.12) return `"${(rng.normal() * 100).toFixed(3)}"`;
        if (r < 0.2) return `${rng.int(1000)}`;
        if (r < 0.25) return `${(rng.normal() * 1e-7).toExponential(6)}`;
        if (r < 0.3) return `  ${rng.normal().toFixed(2)} `;
        if (r < 0.32) return '0.1234567890123456789';
        return `${rng.normal() * 1000}`;
      };
      lines.push([f(), f(), f(), f()].join(','));
      if (rng.next() < 0.02) lines.push('');
    }
    const text = `\ufeff${lines.join(rng.next() < 2 ? '\r\n' : '\n')}\r\n`;
    const p = await file('messy.csv', text);
    const slow = await (await open({ type: 'csv', path: 'messy.csv', parser: 'csv-parse' })).rows().toArray();
    const fast = await (await open({ type: 'csv', path: 'messy.csv', parser: 'fast' })).rows().toArray();
    expect(slow).toHaveLength(3000);
    expect(fast).toEqual(slow);
    // Tiny chunks put record ends, CRLFs and quotes on every possible chunk boundary.
    for (const chunkSize of [1, 7, 64]) {
      const rows: Row[] = [];
      const gen = fastNumericRows({
        file: p,
        delimiter: 44,
        quote: 34,
        skipHeader: true,
        nFields: 4,
        select: ['a', 'b', 'c', 'd'].map((name, index) => ({ name, index })),
        missing: new Set(['', 'NA']),
        errors: new RowErrors('fail', []),
        chunkSize,
      });
      for await (const r of gen) rows.push(r);
      expect(rows).toEqual(slow);
    }
  });

  it('parseNumberBytes equals Number() on decimal texts and rejects what is not one', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 20 }), (x, digits) => {
        for (const s of [String(x), x.toFixed(Math.min(digits, 20)), x.toExponential(Math.min(digits, 20))]) {
          const b = enc.encode(s);
          expect(Object.is(parseNumberBytes(b, 0, b.length), Number(s))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    for (const s of ['', ' ', '.', '-', '1e', '1e+', '0x10', 'Infinity', '1,5', '1 2', 'abc', '--1', '1.2.3']) {
      const b = enc.encode(s);
      expect(parseNumberBytes(b, 0, b.length)).toBeNaN();
    }
    for (const [s, v] of [['+.5', 0.5], ['5.', 5], [' -3e2 ', -300], ['007', 7]] as const) {
      const b = enc.encode(s);
      expect(parseNumberBytes(b, 0, b.length)).toBe(v);
    }
  });

  it('reads a real CSV from vega-datasets', async () => {
    const src = await openSource({ type: 'csv', path: 'npm:vega-datasets/data/seattle-weather.csv', limit: 50 }, { baseDir: join(import.meta.dirname, '..') });
    expect(src.columns.map((c) => `${c.name}:${c.kind}`)).toEqual(['date:string', 'precipitation:number', 'temp_max:number', 'temp_min:number', 'wind:number', 'weather:string']);
    const rows = await src.rows().toArray();
    expect(rows).toHaveLength(50);
    expect(rows[0]).toEqual({ date: '2012-01-01', precipitation: 0, temp_max: 12.8, temp_min: 5, wind: 4.7, weather: 'drizzle' });
  });
});

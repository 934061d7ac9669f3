import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowOrigin } from '../origin.js';
import { openSource } from '../registry.js';

// Bad rows are never dropped silently: counted per reason with their lines, bounded by maxSkipped, and
// errors that are not about one row always fail.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-skip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const warnings: string[] = [];
const logger = { info: () => {}, warn: (m: string) => void warnings.push(m) };
async function csv(name: string, text: string, config: Record<string, unknown> = {}) {
  await writeFile(join(dir, name), text);
  return openSource({ type: 'csv', path: name, ...config } as never, { baseDir: dir, logger });
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

// 20 good rows (lines 2..21), then bad ones at known lines.
const good = Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 3}`);
const text = ['a,b,c', ...good, '1,2', 'x,3,4', '5,6', '7,y,8', '9,10,11,12'].join('\n');

for (const parser of ['fast', 'csv-parse'] as const) {
  describe(`skipped rows (${parser} reader)`, () => {
    it('are counted per reason, with their lines and values', async () => {
      const src = await csv(`skip-${parser}.csv`, `${text}\n`, { onError: 'skip', parser });
      const rows = await src.rows().toArray();
      expect(rows).toHaveLength(20);
      expect(await src.rows().toArray()).toHaveLength(20); // a second pass counts nothing twice
      const s = src.skipSummary();
      expect(s.skipped).toBe(5);
      expect(src.skipped()).toBe(5);
      const byReason = Object.fromEntries(s.reasons.map((r) => [r.reason, { count: r.count, lines: r.first.map((p) => p.line) }]));
      expect(byReason).toEqual({
        'wrong number of fields': { count: 3, lines: [22, 24, 26] },
        'unreadable value in column "a"': { count: 1, lines: [23] },
        'unreadable value in column "b"': { count: 1, lines: [25] },
      });
      expect(s.reasons.find((r) => r.reason.endsWith('"b"'))!.first[0]).toMatchObject({ line: 25, column: 'b', received: 'y' });
    });

    it('maxSkipped as a count fails the read once passed, naming the reasons and lines', async () => {
      const src = await csv(`max-${parser}.csv`, `${text}\n`, { onError: 'skip', parser, maxSkipped: 3 });
      const e = await failure(src.rows().toArray());
      expect(e.code).toBe('E_DATA');
      expect(e.message).toContain('4 rows skipped, more than maxSkipped: 3');
      expect(e.message).toContain('wrong number of fields (line 22, line 24)');
      expect(e.message).toContain('unreadable value in column "a" (line 23)');
      const enough = await csv(`max-ok-${parser}.csv`, `${text}\n`, { onError: 'skip', parser, maxSkipped: 5 });
      expect(await enough.rows().toArray()).toHaveLength(20);
    });

    it('maxSkipped as a fraction is checked against the rows of a complete pass', async () => {
      const over = await csv(`frac-${parser}.csv`, `${text}\n`, { onError: 'skip', parser, maxSkipped: 0.1 });
      const e = await failure(over.rows().toArray());
      expect(e.message).toContain('5 of 25 rows skipped (20.00%), more than maxSkipped: 0.1 (10.00%)');
      const under = await csv(`frac-ok-${parser}.csv`, `${text}\n`, { onError: 'skip', parser, maxSkipped: 0.25 });
      expect(await under.rows().toArray()).toHaveLength(20);
    });

    it('an unclosed quote fails even under skip, instead of ending the file as one skipped row', async () => {
      const src = await csv(`quote-${parser}.csv`, ['a,b,c', '1,2,3', '4,"5,6', ...good].join('\n'), { onError: 'skip', parser });
      const e = await failure(src.rows().toArray());
      expect(e.code).toBe('E_DATA');
      expect(e.message).toMatch(/line 3: a quoted field opened here is not closed before the end of the file/);
    });

    it('a row with a missing cell carries its file line to later errors', async () => {
      const src = await csv(`origin-${parser}.csv`, ['a,b,c', '1,2,3', '4,,6', '7,8,9'].join('\n'), { parser });
      const rows = await src.rows().toArray();
      expect(rows[1]).toEqual({ a: 4, b: null, c: 6 });
      expect(rowOrigin(rows[1])).toBe(`${join(dir, `origin-${parser}.csv`)} line 3`);
      expect(rowOrigin({ ...rows[0] })).toBeUndefined();
      expect(JSON.stringify(rows[1])).toBe('{"a":4,"b":null,"c":6}');
    });
  });
}

describe('column kinds', () => {
  it('a stray text cell in a numeric column is a bad row named by line, column and value, not a text column', async () => {
    const lines = ['age,score', ...Array.from({ length: 12 }, (_, i) => `${20 + i},${i}`)];
    lines.splice(6, 0, 'abc,5'); // line 7
    warnings.length = 0;
    const src = await csv('stray.csv', `${lines.join('\n')}\n`);
    expect(src.columns).toEqual([
      { name: 'age', kind: 'number' },
      { name: 'score', kind: 'number' },
    ]);
    expect(warnings.join('\n')).toMatch(/column "age" read as numbers; 1 of the first 13 rows holds something else \("abc"\).*types: \{ age: string \}/);
    const e = await failure(src.rows().toArray());
    expect(e.message).toContain('line 7, column "age": cannot read "abc" as a number');
    const skip = await csv('stray.csv', `${lines.join('\n')}\n`, { onError: 'skip' });
    expect(await skip.rows().toArray()).toHaveLength(12);
    expect(skip.skipSummary().reasons).toEqual([{ reason: 'unreadable value in column "age"', count: 1, first: [expect.objectContaining({ line: 7, received: 'abc' })] }]);
  });

  it('a mostly-text column stays text, and a declared kind wins', async () => {
    const mixed = await csv('mixed.csv', 'code\n12\nA7\n31\nB2\n');
    expect(mixed.columns).toEqual([{ name: 'code', kind: 'string' }]);
    const declared = await csv('declared.csv', 'age\n1\n2\nabc\n3\n4\n5\n', { types: { age: 'string' } });
    expect(declared.columns).toEqual([{ name: 'age', kind: 'string' }]);
    expect((await declared.rows().toArray()).map((r) => r.age)).toContain('abc');
  });

  it('maxSkipped takes a count or a fraction below 1, nothing else', async () => {
    await writeFile(join(dir, 'm.csv'), 'a\n1\n');
    for (const bad of [1.5, -1]) {
      const e = await failure(openSource({ type: 'csv', path: 'm.csv', maxSkipped: bad } as never, { baseDir: dir }));
      expect(e.message).toContain('maxSkipped');
    }
  });
});

describe('progress of each pass', () => {
  it('reports rows and bytes per pass, ending with the whole file', async () => {
    const body = ['a,b,c', ...Array.from({ length: 5000 }, (_, i) => `${i},${i % 7},${i % 3}`)].join('\n');
    await writeFile(join(dir, 'big.csv'), `${body}\n`);
    await writeFile(join(dir, 'big.jsonl'), `${Array.from({ length: 3000 }, (_, i) => JSON.stringify({ a: i, b: i % 5 })).join('\n')}\n`);
    const size = (name: string) => Buffer.byteLength(name.endsWith('.csv') ? `${body}\n` : '') || undefined;
    for (const [config, rows] of [
      [{ type: 'csv', path: 'big.csv', parser: 'fast' }, 5000],
      [{ type: 'csv', path: 'big.csv', parser: 'csv-parse' }, 5000],
      [{ type: 'jsonl', path: 'big.jsonl' }, 3000],
    ] as const) {
      const events: { pass: number; rows: number; bytes?: number; totalBytes?: number; done: boolean }[] = [];
      const src = await openSource(config as never, { baseDir: dir, onProgress: (p) => void events.push(p) });
      await src.rows().toArray();
      await src.rows().toArray();
      const ends = events.filter((e) => e.done);
      expect(ends.map((e) => [e.pass, e.rows]), config.parser ?? config.type).toEqual([
        [1, rows],
        [2, rows],
      ]);
      const total = ends[0]!.totalBytes!;
      expect(total).toBeGreaterThan(0);
      if (config.type === 'csv') expect(total).toBe(size('big.csv'));
      for (const e of ends) expect(e.bytes).toBe(total);
      for (const e of events) expect(e.rows).toBeLessThanOrEqual(rows);
    }
  });

  it('a folder of images or texts reports files read of the total', async () => {
    const root = join(dir, 'texts');
    for (const [label, n] of [['pos', 3], ['neg', 2]] as const) {
      await mkdir(join(root, label), { recursive: true });
      for (let i = 0; i < n; i++) await writeFile(join(root, label, `${i}.txt`), `${label} ${i}`);
    }
    const events: { pass: number; rows: number; totalRows?: number; done: boolean }[] = [];
    const src = await openSource({ type: 'text', dir: 'texts' } as never, { baseDir: dir, onProgress: (p) => void events.push(p) });
    expect(await src.rows().toArray()).toHaveLength(5);
    expect(events.filter((e) => e.done)).toEqual([expect.objectContaining({ pass: 1, rows: 5, totalRows: 5, done: true })]);
  });
});

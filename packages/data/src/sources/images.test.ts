import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../registry.js';

let dir: string;
const solid = (w: number, h: number, rgb: [number, number, number]) => sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-img-'));
  await mkdir(join(dir, 'imgs/cat'), { recursive: true });
  await mkdir(join(dir, 'imgs/dog'), { recursive: true });
  await solid(10, 6, [200, 50, 10]).png().toFile(join(dir, 'imgs/cat/a.png'));
  await solid(4, 4, [200, 50, 10]).jpeg({ quality: 100 }).toFile(join(dir, 'imgs/cat/b.jpg'));
  await solid(8, 8, [100, 100, 100]).png().toFile(join(dir, 'imgs/dog/a.png'));
  await writeFile(join(dir, 'imgs/dog/notes.md'), 'not an image');
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

const near = (a: Float32Array, v: number, tol: number) => a.every((x) => Math.abs(x - v) <= tol);

describe('images source', () => {
  it('decodes PNG and JPEG per class folder, resized to RGB HWC 0..255', async () => {
    const src = await openSource({ type: 'images', dir: 'imgs', shape: [3, 5, 3] }, { baseDir: dir });
    expect(src.columns).toEqual([
      { name: 'image', kind: 'image', shape: [3, 5, 3] },
      { name: 'label', kind: 'string' },
    ]);
    expect(src.size).toBe(3);
    const rows = await src.rows().toArray();
    // Round-robin over classes: cat/a, dog/a, cat/b.
    expect(rows.map((r) => r.label)).toEqual(['cat', 'dog', 'cat']);
    const cat = rows[0]!.image as Float32Array;
    expect(cat.length).toBe(3 * 5 * 3);
    expect(Array.from(cat.subarray(0, 3))).toEqual([200, 50, 10]);
    expect(near(cat.filter((_, i) => i % 3 === 0), 200, 0)).toBe(true);
    const jpg = rows[2]!.image as Float32Array;
    expect(near(jpg.filter((_, i) => i % 3 === 0), 200, 4)).toBe(true);
    expect(near(jpg.filter((_, i) => i % 3 === 2), 10, 4)).toBe(true);
  });

  it('decodes grayscale', async () => {
    const src = await openSource({ type: 'images', dir: 'imgs', shape: [2, 2, 1], select: ['image'], limit: 2 }, { baseDir: dir });
    const rows = await src.rows().toArray();
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[1]!)).toEqual(['image']);
    expect(near(rows[1]!.image as Float32Array, 100, 1)).toBe(true);
  });

  it('names an unreadable image; skip counts it', async () => {
    await mkdir(join(dir, 'broken/x'), { recursive: true });
    await solid(2, 2, [1, 2, 3]).png().toFile(join(dir, 'broken/x/good.png'));
    await writeFile(join(dir, 'broken/x/bad.png'), 'this is not a png');
    const src = await openSource({ type: 'images', dir: 'broken', shape: [2, 2, 3] }, { baseDir: dir });
    const e = await catchError(src.rows().toArray());
    expect(e.message).toContain(join(dir, 'broken/x/bad.png'));
    expect(e.message).toContain('column "image"');
    const skip = await openSource({ type: 'images', dir: 'broken', shape: [2, 2, 3], onError: 'skip' }, { baseDir: dir });
    expect(await skip.rows().toArray()).toHaveLength(1);
    expect(skip.skipped()).toBe(1);
  });

  it('loads image columns of a CSV next to tabular and text columns (multi-input)', async () => {
    await writeFile(join(dir, 'multi.csv'), 'photo,age,review,label\nimgs/cat/a.png,3,"so cute",cat\nimgs/dog/a.png,5,"good boy",dog\nimgs/missing.png,1,x,cat\n');
    const config = { type: 'csv', path: 'multi.csv', types: { photo: { type: 'image', shape: [2, 2, 1] } } } as const;
    const src = await openSource({ ...config, onError: 'skip' }, { baseDir: dir });
    expect(src.columns).toEqual([
      { name: 'photo', kind: 'image', shape: [2, 2, 1] },
      { name: 'age', kind: 'number' },
      { name: 'review', kind: 'string' },
      { name: 'label', kind: 'string' },
    ]);
    const rows = await src.rows().toArray();
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ age: 5, review: 'good boy', label: 'dog' });
    expect(near(rows[1]!.photo as Float32Array, 100, 1)).toBe(true);
    expect(src.problems()).toEqual([expect.objectContaining({ line: 4, column: 'photo' })]);
  });

  it('rejects a folder without class folders', async () => {
    await mkdir(join(dir, 'flat'), { recursive: true });
    const e = await catchError(openSource({ type: 'images', dir: 'flat', shape: [2, 2, 3] }, { baseDir: dir }));
    expect(e.message).toContain('no class folders');
  });
});

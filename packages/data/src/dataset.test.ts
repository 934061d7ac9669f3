import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeItem, encodeItem } from './cache.js';
import { Dataset } from './dataset.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A dataset that counts how often it is opened and how many items it produced. */
function counted(n: number) {
  const stats = { opened: 0, produced: 0, closed: 0 };
  const ds = Dataset.from(async function* () {
    stats.opened++;
    try {
      for (let i = 0; i < n; i++) {
        stats.produced++;
        yield i;
      }
    } finally {
      stats.closed++;
    }
  });
  return { ds, stats };
}

describe('Dataset', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tfpipe-data-ds-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is lazy and re-iterable', async () => {
    const { ds, stats } = counted(5);
    const mapped = ds.map((x) => x * 10);
    expect(stats.opened).toBe(0);
    expect(await mapped.toArray()).toEqual([0, 10, 20, 30, 40]);
    expect(await mapped.toArray()).toEqual([0, 10, 20, 30, 40]);
    expect(stats.opened).toBe(2);
  });

  it('map, filter, take, skip keep order and report sizes', async () => {
    const ds = Dataset.fromArray(range(10));
    expect(ds.size).toBe(10);
    expect(ds.map((x) => x + 1).size).toBe(10);
    expect(await ds.filter((x) => x % 3 === 0).toArray()).toEqual([0, 3, 6, 9]);
    expect(ds.filter(() => true).size).toBeUndefined();
    expect(await ds.take(3).toArray()).toEqual([0, 1, 2]);
    expect(ds.take(30).size).toBe(10);
    expect(await ds.skip(7).toArray()).toEqual([7, 8, 9]);
    expect(ds.skip(12).size).toBe(0);
    expect(await ds.skip(2).take(2).toArray()).toEqual([2, 3]);
  });

  it('take stops reading the source early and closes it', async () => {
    const { ds, stats } = counted(1000);
    expect(await ds.take(3).toArray()).toEqual([0, 1, 2]);
    expect(stats.produced).toBe(3);
    expect(stats.closed).toBe(1);
  });

  it('batch groups items, keeping or dropping the remainder', async () => {
    const ds = Dataset.fromArray(range(7));
    expect(await ds.batch(3).toArray()).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(ds.batch(3).size).toBe(3);
    expect(await ds.batch(3, { dropRemainder: true }).toArray()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(ds.batch(3, { dropRemainder: true }).size).toBe(2);
    expect(() => ds.batch(0)).toThrow(/batch: received 0; expected an integer >= 1/);
  });

  it('shuffle is a seeded permutation, new each pass, same for the same seed', async () => {
    const ds = Dataset.fromArray(range(100));
    const a = ds.shuffle(100, 42);
    const e1 = await a.toArray();
    const e2 = await a.toArray();
    expect([...e1].sort((x, y) => x - y)).toEqual(range(100));
    expect(e1).not.toEqual(range(100));
    expect(e2).not.toEqual(e1);
    const b = ds.shuffle(100, 42);
    expect(await b.toArray()).toEqual(e1);
    expect(await b.toArray()).toEqual(e2);
    expect(await ds.shuffle(100, 43).toArray()).not.toEqual(e1);
    const fixed = ds.shuffle(100, 42, { reshuffleEachIteration: false });
    expect(await fixed.toArray()).toEqual(await fixed.toArray());
  });

  it('a small shuffle buffer only moves items locally', async () => {
    const out = await Dataset.fromArray(range(1000)).shuffle(10, 1).toArray();
    expect([...out].sort((x, y) => x - y)).toEqual(range(1000));
    // Item at output position p was read at most p + 9 (buffer of 10 fills first).
    for (const [p, v] of out.entries()) expect(v).toBeLessThanOrEqual(p + 9);
  });

  it('repeat repeats n times or forever', async () => {
    const ds = Dataset.fromArray([1, 2]);
    expect(await ds.repeat(3).toArray()).toEqual([1, 2, 1, 2, 1, 2]);
    expect(ds.repeat(3).size).toBe(6);
    expect(ds.repeat().size).toBeUndefined();
    expect(await ds.repeat().take(5).toArray()).toEqual([1, 2, 1, 2, 1]);
    expect(await Dataset.fromArray([]).repeat().toArray()).toEqual([]);
  });

  it('prefetch keeps order, reads ahead, and closes upstream on early exit', async () => {
    const { ds, stats } = counted(100);
    expect(await ds.prefetch(4).toArray()).toEqual(range(100));
    const s2 = counted(100);
    const it = s2.ds.prefetch(4)[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    // Read-ahead happens in the background: wait until it has started (a condition, not a duration), then give it
    // a few more turns of the event loop to overrun its bound if it were going to.
    while (s2.stats.produced <= 1) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(s2.stats.produced).toBeGreaterThan(1);
    expect(s2.stats.produced).toBeLessThanOrEqual(6);
    await it.return?.();
    expect(s2.stats.closed).toBe(1);
    expect(stats.closed).toBe(1);
  });

  it('cache in memory reads the source once', async () => {
    const { ds, stats } = counted(10);
    const c = ds.map((x) => x * 2).cache();
    expect(await c.toArray()).toEqual(range(10).map((x) => x * 2));
    expect(await c.toArray()).toEqual(range(10).map((x) => x * 2));
    expect(stats.opened).toBe(1);
  });

  it('an interrupted first pass caches nothing', async () => {
    const { ds, stats } = counted(10);
    const c = ds.cache();
    expect(await c.take(3).toArray()).toEqual([0, 1, 2]);
    expect(await c.toArray()).toEqual(range(10));
    expect(await c.toArray()).toEqual(range(10));
    expect(stats.opened).toBe(2);
  });

  it('cache to disk round-trips rows with typed arrays and reads the source once', async () => {
    const rows = range(50).map((i) => ({ x: i * 0.5, s: `r${i}`, b: i % 2 === 0, m: null, img: Float32Array.from([i, i + 0.25]), u: Uint8Array.from([i]) }));
    let opened = 0;
    const src = Dataset.from(() => {
      opened++;
      return rows;
    });
    const cdir = join(dir, 'cache');
    const c = src.cache({ dir: cdir });
    expect(await c.toArray()).toEqual(rows);
    expect((await readdir(cdir)).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    const again = await c.toArray();
    expect(again).toEqual(rows);
    expect(again[3]!.img).toBeInstanceOf(Float32Array);
    expect(opened).toBe(1);
  });

  it('encodes nested values exactly', () => {
    const v = [{ a: [1, -2.5e-8, Number.NaN], b: 'ünïcode', c: new Int32Array([-3, 7]) }, null, true];
    expect(decodeItem(encodeItem(v))).toEqual(v);
  });

  it('from() takes arrays, sync and async iterables and factories', async () => {
    expect(await Dataset.from(new Set([1, 2])).toArray()).toEqual([1, 2]);
    expect(
      await Dataset.from(function* () {
        yield 'a';
      }).toArray(),
    ).toEqual(['a']);
    expect(Dataset.from([1, 2, 3]).size).toBe(3);
  });

  it('does not leak tensors made and disposed in a pipeline', async () => {
    await tf.setBackend('cpu');
    const ds = Dataset.fromArray(range(40))
      .shuffle(16, 3)
      .batch(8)
      .map((b) => tf.tensor1d(b))
      .prefetch(2);
    await expectNoLeakedTensors(async () => {
      for await (const t of ds) {
        const s = tf.sum(t);
        s.dataSync();
        s.dispose();
        t.dispose();
      }
    });
  });
});

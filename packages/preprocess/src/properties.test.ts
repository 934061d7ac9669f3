import type { Row } from '@tfpipe/data';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resizeImage } from './_image.js';
import { Preprocessor } from './preprocessor.js';

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

// Finite values in a range where x - mean cannot overflow.
const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const column = fc.array(finite, { minLength: 1, maxLength: 50 });
const RUNS = { numRuns: 60 };

async function fit(config: Record<string, unknown>, xs: number[]): Promise<Preprocessor> {
  const pre = Preprocessor.fromConfig([{ column: 'x', ...config }]);
  await pre.fit(source(xs.map((x) => ({ x }))));
  return pre;
}

/** transform then inverse gives back the input (relative to the column's spread). */
async function roundTrips(config: Record<string, unknown>, xs: number[]): Promise<void> {
  const pre = await fit(config, xs);
  const t = pre.transforms[0]!;
  const scale = Math.max(1, ...xs.map(Math.abs));
  for (const x of xs) {
    const row = pre.transform({ x });
    expect(Number.isFinite(row.x)).toBe(true);
    t.inverse!(row);
    expect(Math.abs((row.x as number) - x)).toBeLessThanOrEqual(1e-9 * scale);
  }
}

describe('numeric transform properties', () => {
  it('standardize: finite out, invertible, mean 0 on its training data', async () => {
    await fc.assert(
      fc.asyncProperty(column, async (xs) => {
        await roundTrips({ type: 'standardize' }, xs);
        const pre = await fit({ type: 'standardize' }, xs);
        const out = xs.map((x) => pre.transform({ x }).x as number);
        const mean = out.reduce((a, b) => a + b, 0) / out.length;
        expect(Math.abs(mean)).toBeLessThan(1e-6);
      }),
      RUNS,
    );
  });

  it('min-max: a denormal range stays finite (found by this property)', async () => {
    const pre = await fit({ type: 'min-max' }, [0, -5e-324]);
    expect(pre.transform({ x: 0 }).x).toBe(5e-324);
  });

  it('min-max: training data lands in [min, max], invertible', async () => {
    await fc.assert(
      fc.asyncProperty(column, fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 10 }), async (xs, lo, width) => {
        await roundTrips({ type: 'min-max', min: lo, max: lo + width }, xs);
        const pre = await fit({ type: 'min-max', min: lo, max: lo + width }, xs);
        for (const x of xs) {
          const y = pre.transform({ x }).x as number;
          expect(y).toBeGreaterThanOrEqual(lo - 1e-9);
          expect(y).toBeLessThanOrEqual(lo + width + 1e-9);
        }
      }),
      RUNS,
    );
  });

  it('rescale: invertible for any non-zero scale', async () => {
    await fc.assert(
      fc.asyncProperty(column, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.boolean(), async (xs, s, neg) => {
        await roundTrips({ type: 'rescale', scale: neg ? -s : s, offset: 3 }, xs);
      }),
      RUNS,
    );
  });

  it('log: finite and invertible above -offset', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 }), async (xs) => {
        const pre = await fit({ type: 'log' }, xs);
        for (const x of xs) {
          const row = pre.transform({ x });
          expect(Number.isFinite(row.x)).toBe(true);
          pre.transforms[0]!.inverse!(row);
          expect(row.x as number).toBeCloseTo(x, Math.max(0, 9 - Math.ceil(Math.log10(x + 1))));
        }
      }),
      RUNS,
    );
  });

  it('clip: output within bounds; vectors keep their length', async () => {
    await fc.assert(
      fc.asyncProperty(column, finite, finite, async (xs, a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const pre = Preprocessor.fromConfig([{ type: 'clip', column: 'v', min, max }]);
        const out = pre.transform({ v: Float32Array.from(xs) }).v as Float32Array;
        expect(out.length).toBe(xs.length);
        for (const y of out) {
          expect(y).toBeGreaterThanOrEqual(Math.fround(min));
          expect(y).toBeLessThanOrEqual(Math.fround(max));
        }
      }),
      RUNS,
    );
  });

  it('element-wise transforms on vectors: same length, no NaN from finite input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 10 }), async (vs) => {
        const rows = vs.map((v) => ({ v: Float32Array.from(v) }));
        const pre = Preprocessor.fromConfig([{ type: 'standardize', column: 'v' }, { type: 'min-max', column: 'v' }]);
        await pre.fit(source(rows));
        for (const r of rows) {
          const out = pre.transform(r).v as Float32Array;
          expect(out.length).toBe(3);
          expect(out.every(Number.isFinite)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('one-hot: each known category gives exactly one 1', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 30 }), async (cs) => {
        const pre = Preprocessor.fromConfig([{ type: 'one-hot', column: 'c' }]);
        await pre.fit(source(cs.map((c) => ({ c }))));
        const k = new Set(cs).size;
        for (const c of cs) {
          const out = pre.transform({ c }).c as Float32Array;
          expect(out.length).toBe(k);
          expect(out.reduce((a, b) => a + b, 0)).toBe(1);
        }
      }),
      RUNS,
    );
  });

  it('tokenize: always maxLength ids below vocabSize', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 8 }), async (texts, maxLength) => {
        const pre = Preprocessor.fromConfig([{ type: 'tokenize', column: 't', maxLength, maxVocab: 10 }]);
        await pre.fit(source(texts.map((t) => ({ t }))));
        const vocabSize = pre.outputColumns([{ name: 't', kind: 'string' }])[0]!.vocabSize!;
        for (const t of texts) {
          const ids = pre.transform({ t }).t as Float32Array;
          expect(ids.length).toBe(maxLength);
          expect(ids.every((i) => Number.isInteger(i) && i >= 0 && i < vocabSize)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('image resize: output size h*w*c, values within the input range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (h, w, c, oh, ow) => {
        const img = Float32Array.from({ length: h * w * c }, (_, i) => (i * 37) % 11);
        for (const method of ['bilinear', 'nearest'] as const) {
          const out = resizeImage(img, [h, w, c], oh, ow, method);
          expect(out.length).toBe(oh * ow * c);
          expect(out.every((v) => v >= -1e-4 && v <= 10 + 1e-4)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

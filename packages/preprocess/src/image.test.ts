import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { createRng } from '@tfpipe/core';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { resizeImage } from './_image.js';
import { Preprocessor } from './preprocessor.js';
import { crop, flip, rotate } from './transforms/image-augment.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

function randomImage(h: number, w: number, c: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: h * w * c }, () => rng.next() * 255);
}

describe('image-resize', () => {
  it.each([
    [5, 7, 3, 3, 4],
    [4, 4, 1, 7, 9],
    [28, 28, 1, 14, 14],
  ])('bilinear %ix%ix%i → %ix%i matches tf.image.resizeBilinear(half-pixel centres)', (h, w, c, oh, ow) => {
    const img = randomImage(h, w, c, h * 100 + ow);
    const ours = resizeImage(img, [h, w, c], oh, ow, 'bilinear');
    const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(img, [1, h, w, c]), [oh, ow], false, true).dataSync());
    expectTensorsClose(ours, ref, 1e-3);
    const nearest = resizeImage(img, [h, w, c], oh, ow, 'nearest');
    const refN = tf.tidy(() => tf.image.resizeNearestNeighbor(tf.tensor4d(img, [1, h, w, c]), [oh, ow], false, true).dataSync());
    expectTensorsClose(nearest, refN, 1e-3);
  });

  it('changes the column shape and needs the input shape from the columns', () => {
    const pre = Preprocessor.fromConfig([{ type: 'image-resize', column: 'img', height: 2, width: 3 }]);
    expect(() => pre.transform({ img: new Uint8Array(16) })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(pre.outputColumns([{ name: 'img', kind: 'image', shape: [4, 4, 1] }])).toEqual([{ name: 'img', kind: 'image', shape: [2, 3, 1] }]);
    expect((pre.transform({ img: new Uint8Array(16) }).img as Float32Array).length).toBe(6);
    expect(() => pre.outputColumns([{ name: 'img', kind: 'vector', shape: [16] }])).toThrow(/image column/);
  });
});

describe('image-normalize', () => {
  it('fits per-channel mean and std on train (hand-computed), or takes fixed values', async () => {
    const cols: ColumnInfo[] = [{ name: 'img', kind: 'image', shape: [1, 2, 2] }];
    // Two images 1x2 with 2 channels; channel 0 values: 0 2 4 6 (mean 3, std sqrt(5)); channel 1: 1 1 1 1 (std 0 → 1)
    const rows: Row[] = [{ img: new Float32Array([0, 1, 2, 1]) }, { img: new Float32Array([4, 1, 6, 1]) }];
    const pre = Preprocessor.fromConfig([{ type: 'image-normalize', column: 'img' }]);
    await pre.fit(source(rows), { columns: cols });
    const out = Array.from(pre.transform(rows[0]!).img as Float32Array);
    expect(out[0]).toBeCloseTo(-3 / Math.sqrt(5), 6);
    expect(out[1]).toBeCloseTo(0, 6);
    expect(out[2]).toBeCloseTo(-1 / Math.sqrt(5), 6);
    const fixed = Preprocessor.fromConfig([{ type: 'image-normalize', column: 'img', mean: [1, 0], std: [2, 0.5] }]);
    expect(Array.from(fixed.transform(rows[1]!).img as Float32Array)).toEqual([1.5, 2, 2.5, 2]);
    const wrong = Preprocessor.fromConfig([{ type: 'image-normalize', column: 'img', mean: [1, 2, 3], std: 1 }]);
    expect(() => wrong.outputColumns(cols)).toThrow(/channel/);
  });
});

describe('image-augment', () => {
  const dims: [number, number, number] = [3, 3, 1];
  const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

  it('flip, crop and rotate move pixels as expected', () => {
    expect(Array.from(flip(img, dims, true, false))).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    expect(Array.from(flip(img, dims, false, true))).toEqual([7, 8, 9, 4, 5, 6, 1, 2, 3]);
    expect(Array.from(crop(img, dims, 1, 1, 1))).toEqual(Array.from(img)); // centred window = identity
    expect(Array.from(crop(img, dims, 1, 0, 2))).toEqual([0, 0, 0, 2, 3, 0, 5, 6, 0]);
    expectTensorsClose(rotate(img, dims, 0), img, 1e-5);
    // 90° counter-clockwise: the top row becomes the left column read bottom-up.
    expectTensorsClose(rotate(img, dims, Math.PI / 2), [3, 6, 9, 2, 5, 8, 1, 4, 7], 1e-4);
  });

  it('only changes training rows; the same seed gives the same stream, another seed another', () => {
    const cols: ColumnInfo[] = [{ name: 'img', kind: 'image', shape: [8, 8, 3] }];
    const make = (seed: number) => {
      const p = Preprocessor.fromConfig([{ type: 'image-augment', column: 'img', crop: 2, rotation: 15, noise: 0.1, flip: 'both' }], { seed });
      p.outputColumns(cols);
      return p;
    };
    const rows = Array.from({ length: 5 }, (_, i) => ({ img: randomImage(8, 8, 3, i) }));
    const a = make(1);
    const b = make(1);
    const c = make(2);
    expect(a.transform(rows[0]!).img).toBe(rows[0]!.img);
    const outA = rows.map((r) => a.transform(r, { training: true }).img as Float32Array);
    const outB = rows.map((r) => b.transform(r, { training: true }).img as Float32Array);
    const outC = rows.map((r) => c.transform(r, { training: true }).img as Float32Array);
    expect(outA).toEqual(outB);
    expect(outA).not.toEqual(outC);
    expect(outA[0]).not.toEqual(rows[0]!.img);
    expect(outA.every((x) => x.length === 8 * 8 * 3 && x.every(Number.isFinite))).toBe(true);
  });
});

import { z } from 'zod';
import { createRng, hashSeed, TfpipeError } from '@tfpipe/core';
import { checkImageColumns, pixelsOf } from '../_image.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField } from '../transform.js';

export const imageAugmentSchema = z
  .object({
    type: z.literal('image-augment'),
    ...columnFields,
    flip: z.enum(['none', 'horizontal', 'vertical', 'both']).default('horizontal').describe('Random flips, each with probability 0.5.'),
    crop: z.number().int().min(0).default(0).describe('Pad by this many zero pixels on each side, then crop a random window of the original size.'),
    rotation: z.number().min(0).max(180).default(0).describe('Rotate by a uniform random angle in [-rotation, rotation] degrees (bilinear, zero fill).'),
    noise: z.number().min(0).default(0).describe('Standard deviation of added Gaussian noise.'),
    seed: z.number().int().min(0).optional().describe('Seed of the augmentation stream; default: derived from the pipeline seed and the transform index.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Random flip, crop, rotation and noise, in that order; applied only to training rows (transform(row, { training: true })), seeded.');

export type ImageAugmentConfig = z.output<typeof imageAugmentSchema>;

export const imageAugment: TransformEntry<ImageAugmentConfig> = {
  type: 'image-augment',
  schema: imageAugmentSchema,
  description: 'Seeded image augmentation for the training split.',
  create(config, { seed, index }): Transform {
    const names = columnList(config);
    const rng = createRng(config.seed ?? hashSeed(`${seed}:image-augment:${index}`));
    let dims: Record<string, [number, number, number]> = {};
    return {
      type: 'image-augment',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues) {
        dims = Object.fromEntries(checkImageColumns('image-augment', names, columns, path, issues));
        return columns.map((c) => ({ ...c }));
      },
      apply(row, { training }) {
        if (!training) return; // validation, test and serving see the images as they are
        for (const n of names) {
          const d = dims[n];
          if (!d) {
            throw new TfpipeError('E_USAGE', `image-augment: the shape of column "${n}" is not known yet`, {
              hint: 'Call Preprocessor.outputColumns(sourceColumns) before transforming training rows.',
            });
          }
          const [h, w, ch] = d;
          let img: Float32Array = Float32Array.from(pixelsOf('image-augment', n, row[n], h * w * ch));
          const flipH = (config.flip === 'horizontal' || config.flip === 'both') && rng.next() < 0.5;
          const flipV = (config.flip === 'vertical' || config.flip === 'both') && rng.next() < 0.5;
          if (flipH || flipV) img = flip(img, d, flipH, flipV);
          if (config.crop > 0) img = crop(img, d, config.crop, rng.int(2 * config.crop + 1), rng.int(2 * config.crop + 1));
          if (config.rotation > 0) img = rotate(img, d, ((rng.next() * 2 - 1) * config.rotation * Math.PI) / 180);
          if (config.noise > 0) for (let i = 0; i < img.length; i++) img[i] = img[i]! + rng.normal() * config.noise;
          row[n] = img;
        }
      },
      state: () => ({ dims }),
      load(state) {
        dims = (state as { dims?: Record<string, [number, number, number]> }).dims ?? {};
      },
    };
  },
};

/** Mirror left-right and/or top-bottom. */
export function flip(src: Float32Array, [h, w, ch]: [number, number, number], horizontal: boolean, vertical: boolean): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    const sy = vertical ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = horizontal ? w - 1 - x : x;
      const o = (y * w + x) * ch;
      const s = (sy * w + sx) * ch;
      for (let c = 0; c < ch; c++) out[o + c] = src[s + c]!;
    }
  }
  return out;
}

/** Zero-pad by `pad` pixels and take the h x w window whose top-left corner is (oy, ox) in the padded image. */
export function crop(src: Float32Array, [h, w, ch]: [number, number, number], pad: number, oy: number, ox: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    const sy = y + oy - pad;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = x + ox - pad;
      if (sx < 0 || sx >= w) continue;
      const o = (y * w + x) * ch;
      const s = (sy * w + sx) * ch;
      for (let c = 0; c < ch; c++) out[o + c] = src[s + c]!;
    }
  }
  return out;
}

/** Rotate about the image centre by `angle` radians (counter-clockwise), bilinear, zero outside. */
export function rotate(src: Float32Array, [h, w, ch]: [number, number, number], angle: number): Float32Array {
  const out = new Float32Array(src.length);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const at = (y: number, x: number, c: number) => (y < 0 || y >= h || x < 0 || x >= w ? 0 : src[(y * w + x) * ch + c]!);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Inverse mapping: where in the source does this output pixel come from.
      const dy = y - cy;
      const dx = x - cx;
      const sx = cos * dx - sin * dy + cx;
      const sy = sin * dx + cos * dy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * w + x) * ch;
      for (let c = 0; c < ch; c++) {
        const top = at(y0, x0, c) * (1 - fx) + at(y0, x0 + 1, c) * fx;
        const bottom = at(y0 + 1, x0, c) * (1 - fx) + at(y0 + 1, x0 + 1, c) * fx;
        out[o + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

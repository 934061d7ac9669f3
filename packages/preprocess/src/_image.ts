import type { Issue } from '@tfpipe/core';
import type { Value } from './_row.js';
import { type Column, findColumn, kindIssue } from './columns.js';
import { dataError } from './transform.js';

/** [height, width, channels] of an image column; a [h, w] shape has one channel. */
export function imageDims(c: Column): [number, number, number] | undefined {
  const s = c.shape;
  if (c.kind !== 'image' || !s || (s.length !== 2 && s.length !== 3) || s.some((d) => !(d > 0))) return undefined;
  return [s[0]!, s[1]!, s[2] ?? 1];
}

/** Validates the image columns of a transform; returns their dims by name. */
export function checkImageColumns(
  type: string,
  names: readonly string[],
  columns: readonly Column[],
  path: (string | number)[],
  issues: Issue[],
): Map<string, [number, number, number]> {
  const dims = new Map<string, [number, number, number]>();
  names.forEach((name, i) => {
    const p = names.length === 1 ? [...path, 'column'] : [...path, 'columns', i];
    const c = findColumn(columns, name, p, issues);
    if (!c) return;
    const d = imageDims(c);
    if (d) dims.set(name, d);
    else issues.push(kindIssue(c, p, 'an image column with shape [height, width, channels]', type));
  });
  return dims;
}

/** The pixels of an image cell, checked against its expected size. */
export function pixelsOf(type: string, column: string, v: Value | undefined, size: number): Float32Array | Uint8Array {
  if ((v instanceof Float32Array || v instanceof Uint8Array) && v.length === size) return v;
  throw dataError(type, column, v ?? null, `a Float32Array or Uint8Array of ${size} values (HWC)`);
}

/** Bilinear or nearest resize of one HWC image, half-pixel centres (as tf.image.resizeBilinear(x, size, false, true)). */
export function resizeImage(
  src: Float32Array | Uint8Array,
  [h, w, ch]: [number, number, number],
  outH: number,
  outW: number,
  method: 'bilinear' | 'nearest',
): Float32Array {
  const out = new Float32Array(outH * outW * ch);
  const ry = h / outH;
  const rx = w / outW;
  let o = 0;
  for (let r = 0; r < outH; r++) {
    const fy = ry * (r + 0.5) - 0.5;
    const y0 = Math.max(0, Math.floor(fy));
    const y1 = Math.min(h - 1, Math.ceil(fy));
    const dy = fy - y0;
    const ny = Math.max(0, Math.min(h - 1, Math.floor(ry * (r + 0.5))));
    for (let c = 0; c < outW; c++) {
      const fx = rx * (c + 0.5) - 0.5;
      const x0 = Math.max(0, Math.floor(fx));
      const x1 = Math.min(w - 1, Math.ceil(fx));
      const dx = fx - x0;
      if (method === 'nearest') {
        const nx = Math.max(0, Math.min(w - 1, Math.floor(rx * (c + 0.5))));
        const base = (ny * w + nx) * ch;
        for (let d = 0; d < ch; d++) out[o++] = src[base + d]!;
        continue;
      }
      const tl = (y0 * w + x0) * ch;
      const tr = (y0 * w + x1) * ch;
      const bl = (y1 * w + x0) * ch;
      const br = (y1 * w + x1) * ch;
      for (let d = 0; d < ch; d++) {
        const top = src[tl + d]! + (src[tr + d]! - src[tl + d]!) * dx;
        const bottom = src[bl + d]! + (src[br + d]! - src[bl + d]!) * dx;
        out[o++] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

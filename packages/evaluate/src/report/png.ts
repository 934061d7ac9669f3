import { deflateSync } from 'node:zlib';
import { TfpipeError } from '@tfpipe/core';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes 8-bit pixels (row-major, `channels` interleaved: 1 gray, 3 RGB, 4 RGBA) as a PNG file:
 * signature, IHDR, one zlib IDAT with filter 0 on every row, IEND.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new TfpipeError('E_USAGE', `encodePng: ${pixels.length} bytes for ${width}x${height}x${channels}; expected ${width * height * channels}`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An image to show in the report: one sample's pixels and shape ([h, w], [h, w, 1], [h, w, 3] or [h, w, 4]). */
export interface ImageExample {
  label: string;
  pred: string;
  pixels: Float32Array | Uint8Array | readonly number[];
  shape: number[];
  /** Probability of the predicted class, if known. */
  confidence?: number;
  /** Index of the sample in the evaluated stream, if known. */
  index?: number;
}

/**
 * PNG of an example. Values are stretched from the image's own min..max to 0..255 (as matplotlib's
 * imshow does by default), so 0..1 and 0..255 inputs both display; a constant image is mid-gray.
 */
export function examplePng(ex: ImageExample): Uint8Array {
  const [h, w, c = 1] = ex.shape;
  if (h === undefined || w === undefined || ex.shape.length > 3 || ![1, 3, 4].includes(c)) {
    throw new TfpipeError('E_USAGE', `example image shape [${ex.shape.join(', ')}]; expected [h, w] or [h, w, 1 | 3 | 4]`);
  }
  if (ex.pixels.length !== h * w * c) {
    throw new TfpipeError('E_USAGE', `example image has ${ex.pixels.length} values; shape [${ex.shape.join(', ')}] needs ${h * w * c}`);
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of ex.pixels) {
    if (p < lo) lo = p;
    if (p > hi) hi = p;
  }
  const bytes = new Uint8Array(ex.pixels.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = hi > lo ? Math.round(((ex.pixels[i]! - lo) / (hi - lo)) * 255) : 128;
  return encodePng(bytes, w, h, c as 1 | 3 | 4);
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

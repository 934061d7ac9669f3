import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

/** Asserts two tensors (or arrays) have the same shape and values within `atol + rtol * |b|`. */
export function expectTensorsClose(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>, atol = 1e-5, rtol = 1e-5): void {
  const av = a instanceof tf.Tensor ? a.dataSync() : a;
  const bv = b instanceof tf.Tensor ? b.dataSync() : b;
  if (a instanceof tf.Tensor && b instanceof tf.Tensor && a.shape.join(',') !== b.shape.join(',')) {
    throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  }
  if (av.length !== bv.length) throw new Error(`sizes differ: ${av.length} vs ${bv.length}`);
  for (let i = 0; i < av.length; i++) {
    const x = av[i]!;
    const y = bv[i]!;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)) && !(Number.isNaN(x) && Number.isNaN(y))) {
      throw new Error(`values differ at ${i}: ${x} vs ${y} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/**
 * Calls `fn` once to warm up (lazy weights, kernel caches), then `times` more, and throws if the live
 * tensor count grew. This is the leak test every package runs.
 */
export async function expectNoLeakedTensors(fn: () => unknown | Promise<unknown>, times = 3): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`leaked ${after - before} tensor(s) over ${times} calls (${before} -> ${after})`);
}

/** Lightning's BoringModel: the smallest model that trains. */
export function tinyModel(inputDim = 4, classes = 3, seed = 1): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 8, activation: 'relu', inputShape: [inputDim], kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  m.add(tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

/** A deterministic, linearly separable toy classification set: n rows, `classes` blobs in `dim` dims. */
export function tinyDataset(n = 64, dim = 4, classes = 3, seed = 7): { x: Float32Array; y: Int32Array; n: number; dim: number; classes: number } {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j % classes === c ? 2 : 0) + (rand() - 0.5);
  }
  return { x, y, n, dim, classes };
}

export { findChromium, findExecutable, servicesRequired, skipWithout, tcpListening } from './services.js';

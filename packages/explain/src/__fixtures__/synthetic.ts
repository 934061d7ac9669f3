import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng } from '@tfpipe/core';

export const SIZE = 16;
/** The region the label depends on: rows and columns [0, REGION). */
export const REGION = 8;

/**
 * Images [n, 16, 16, 1] of uniform noise in [0, 0.3]; class 1 has a bright 3x3 patch somewhere inside the top-left
 * 8x8 region, class 0 has none. The signal sits in a known region by construction.
 */
export function patchImages(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D; labels: number[] } {
  const rng = createRng(seed);
  const data = new Float32Array(n * SIZE * SIZE);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = i * SIZE * SIZE;
    for (let p = 0; p < SIZE * SIZE; p++) data[base + p] = 0.3 * rng.next();
    const label = i % 2;
    labels.push(label);
    if (label === 1) {
      const r0 = Math.floor(rng.next() * (REGION - 3));
      const c0 = Math.floor(rng.next() * (REGION - 3));
      for (let r = r0; r < r0 + 3; r++) for (let c = c0; c < c0 + 3; c++) data[base + r * SIZE + c] = 1;
    }
  }
  return {
    x: tf.tensor4d(data, [n, SIZE, SIZE, 1]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 2) as tf.Tensor2D,
    labels,
  };
}

/** A small CNN (two convolutions, global pooling, softmax), trained on `patchImages`. */
export async function trainPatchCnn(seed = 11): Promise<tfl.LayersModel> {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed + s });
  const input = tfl.input({ shape: [SIZE, SIZE, 1], name: 'image' });
  let h = tfl.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_0', kernelInitializer: init(0) })
    .apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_0' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_1', kernelInitializer: init(1) })
    .apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ units: 2, activation: 'softmax', name: 'output', kernelInitializer: init(2) })
    .apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { x, y } = patchImages(256, seed);
  await model.fit(x, y, { epochs: 12, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  return model;
}

/** Share of a non-negative map's mass [n, h, w] inside the top-left region, per example. */
export function regionMass(map: tf.Tensor): number[] {
  return tf.tidy(() => {
    const m = tf.abs(tf.reshape(map, [map.shape[0]!, map.shape[1]!, map.shape[2]!]));
    const inside = tf.sum(tf.slice(m, [0, 0, 0], [-1, REGION, REGION]), [1, 2]);
    const total = tf.sum(m, [1, 2]);
    return Array.from(tf.div(inside, total).dataSync());
  });
}

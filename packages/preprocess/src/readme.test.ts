// The README snippet, run as a test (with a temp dir instead of "model").
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { expect, it } from 'vitest';
import { Preprocessor, createTensorizer } from './index.js';

it('README snippet', async () => {
  await tf.setBackend('cpu');
  const dir = await mkdtemp(join(tmpdir(), 'tfpipe-readme-'));
  try {
    const columns: ColumnInfo[] = [
      { name: 'age', kind: 'number' },
      { name: 'city', kind: 'string' },
      { name: 'bought', kind: 'boolean' },
    ];
    const train: Row[] = [
      { age: 31, city: 'Oslo', bought: true },
      { age: null, city: 'Lima', bought: false },
      { age: 52, city: 'Oslo', bought: true },
    ];
    const rows = () =>
      (async function* () {
        yield* train;
      })();
    const pre = Preprocessor.fromConfig([
      { type: 'impute', column: 'age', strategy: 'median' },
      { type: 'standardize', column: 'age' },
      { type: 'one-hot', column: 'city' },
    ]);
    pre.outputColumns(columns);
    await pre.fit(rows);
    await pre.save(dir);
    const tz = createTensorizer({ features: ['age', 'city'], label: 'bought' }, pre.outputColumns(columns));
    await tz.fit(async function* () {
      for await (const r of rows()) yield pre.transform(r);
    });
    expect(tz.inputs).toEqual([{ name: 'features', shape: [3], kind: 'tabular', dtype: 'float32' }]);
    expect(tz.task).toEqual({ kind: 'binary', labels: ['false', 'true'] });
    const batch = tz.toBatch(train.map((r) => pre.transform(r)));
    expect((batch.xs as tf.Tensor).shape).toEqual([3, 3]);
    expect((batch.ys as tf.Tensor).shape).toEqual([3, 1]);
    // age imputed with the median 41.5 → standardized 0 for the second row; city one-hot [Lima, Oslo].
    expect(Array.from((batch.xs as tf.Tensor).dataSync().slice(3, 6))).toEqual([0, 1, 0]);
    tf.dispose([batch.xs as tf.Tensor, batch.ys as tf.Tensor]);
    const loaded = await Preprocessor.load(dir);
    const x = tz.toBatch([loaded.transform({ age: 40, city: 'Oslo' })], { withLabels: false });
    expect((x.xs as tf.Tensor).shape).toEqual([1, 3]);
    tf.dispose(x.xs as tf.Tensor);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

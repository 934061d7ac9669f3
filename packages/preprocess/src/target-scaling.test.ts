import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Row } from '@tfpipe/data';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { TargetStats, scaleTarget, unscaleTarget } from './target-scaling.js';
import { createTensorizer, Tensorizer } from './tensorizer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rows = (ys: number[]): Row[] => ys.map((y, i) => ({ x: i, y }));
async function* iterate(r: Row[]) {
  yield* r;
}
const columns = [
  { name: 'x', kind: 'number' as const },
  { name: 'y', kind: 'number' as const },
];

describe('target scaling (regression)', () => {
  it('standardizes with the training mean and population std, and inverts exactly', async () => {
    const ys = [100, 200, 300, 400];
    const tz = createTensorizer({ features: ['x'], label: 'y', task: 'regression' }, columns);
    await tz.fit(() => iterate(rows(ys)));
    const mean = 250;
    const std = Math.sqrt(((150 ** 2 + 50 ** 2) * 2) / 4);
    expect(tz.targetScaling).toEqual({ modes: ['standardize'], shift: [mean], scale: [std] });
    const b = tz.toBatch(rows(ys));
    const z = Array.from((b.ys as tf.Tensor).dataSync());
    for (const [i, y] of ys.entries()) expect(z[i]).toBeCloseTo((y - mean) / std, 6);
    // Unscaled batches (for evaluation) keep the original units; predictions decode to them too.
    const raw = tz.toBatch(rows(ys), { scaleTargets: false }) as import('@tfpipe/core').Batch;
    expect(Array.from((raw.ys as tf.Tensor).dataSync())).toEqual(ys);
    const decoded = tz.decode(b.ys as tf.Tensor).map((p) => (p as { value: number }).value);
    for (const [i, v] of decoded.entries()) expect(v).toBeCloseTo(ys[i]!, 3);
    const back = tz.unscale(b.ys as tf.Tensor);
    expect(Array.from(back.dataSync()).map((v) => Math.round(v * 1000) / 1000)).toEqual(ys);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor, raw.xs as tf.Tensor, raw.ys as tf.Tensor, back]);
    // Saved and loaded with the model.
    const again = Tensorizer.fromJSON(JSON.parse(JSON.stringify(tz.toJSON())));
    expect(again.targetScaling).toEqual(tz.targetScaling);
  });

  it('minmax, log and none; one mode per label column for multi-output regression', async () => {
    const cols = [
      { name: 'x', kind: 'number' as const },
      { name: 'a', kind: 'number' as const },
      { name: 'b', kind: 'number' as const },
      { name: 'c', kind: 'number' as const },
    ];
    const data: Row[] = [
      { x: 0, a: 2, b: 0, c: 5 },
      { x: 1, a: 4, b: Math.E - 1, c: 6 },
      { x: 2, a: 10, b: Math.E ** 2 - 1, c: 7 },
    ];
    const tz = createTensorizer({ features: ['x'], label: ['a', 'b', 'c'], task: 'regression', targetScaling: { a: 'minmax', b: 'log', c: 'none' } }, cols);
    await tz.fit(() => iterate(data));
    const s = tz.targetScaling!;
    expect(s.modes).toEqual(['minmax', 'log', 'none']);
    expect(s.shift[0]).toBe(2);
    expect(s.scale[0]).toBe(8);
    expect(s.shift[1]).toBeCloseTo(1, 12); // mean of log1p(b) = mean(0, 1, 2)
    expect([s.shift[2], s.scale[2]]).toEqual([0, 1]);
    for (let i = 0; i < 3; i++) for (const y of [3, 7.5]) expect(unscaleTarget(s, i, scaleTarget(s, i, y))).toBeCloseTo(y, 10);
    const b = tz.toBatch(data);
    const back = tz.unscale(b.ys as tf.Tensor);
    const flat = Array.from(back.dataSync());
    for (const [i, r] of data.entries()) for (const [j, k] of ['a', 'b', 'c'].entries()) expect(flat[i * 3 + j]).toBeCloseTo(r[k] as number, 4);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor, back]);
  });

  it('log refuses labels at or below -1, naming the column', () => {
    const st = new TargetStats(['log']);
    expect(() => st.update(0, -1, 'price')).toThrow(/label column "price" has -1/);
  });

  it('classification is untouched; targetScaling none keeps raw targets', async () => {
    const tz = createTensorizer({ features: ['x'], label: 'y', task: 'regression', targetScaling: 'none' }, columns);
    await tz.fit(() => iterate(rows([100, 200])));
    expect(tz.targetScaling).toBeUndefined();
    const b = tz.toBatch(rows([100, 200]));
    expect(Array.from((b.ys as tf.Tensor).dataSync())).toEqual([100, 200]);
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
    const cls = createTensorizer({ features: ['x'], label: 'y' }, columns);
    await cls.fit(() => iterate(rows([0, 1, 1, 0])));
    expect(cls.targetScaling).toBeUndefined();
  });

  it('unscale leaks no tensors', async () => {
    const tz = createTensorizer({ features: ['x'], label: 'y', task: 'regression', targetScaling: 'log' }, columns);
    await tz.fit(() => iterate(rows([1, 2, 3])));
    const t = tf.tensor2d([[0.1], [0.2]]);
    await expectNoLeakedTensors(() => tz.unscale(t).dispose());
    t.dispose();
  });
});

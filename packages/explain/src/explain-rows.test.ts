import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend } from '@tfpipe/backend-wasm';
import { createRng } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';
import { createMetric } from '@tfpipe/evaluate';
import { buildModel } from '@tfpipe/models';
import { createTensorizer, Preprocessor } from '@tfpipe/preprocess';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainRows, selectExamples, vocabularies } from './explain-rows.js';

beforeAll(async () => {
  await useWasmBackend({ threads: 1 });
});

/** label "yes" when 2·signal + (color = red ? 1 : −1) > 0; noise is independent of the label. */
function rows(n: number, seed: number): Row[] {
  const rng = createRng(seed);
  const colors = ['red', 'green', 'blue'];
  return Array.from({ length: n }, () => {
    const signal = rng.next() * 2 - 1;
    const color = colors[Math.floor(rng.next() * 3)]!;
    const noise = rng.next() * 2 - 1;
    return { signal, color, noise, label: 2 * signal + (color === 'red' ? 1 : -1) > 0 ? 'yes' : 'no' };
  });
}

describe('explainRows: attributions in the user’s terms, through the run’s preprocessing', () => {
  it('permutation importance per original column (one-hot included); IG per column sums one-hot slots back', async () => {
    const train = rows(600, 1);
    const pre = Preprocessor.fromConfig([{ type: 'one-hot', column: 'color' }]);
    await pre.fit(async function* () {
      yield* train;
    });
    const source = [
      { name: 'signal', kind: 'number' as const },
      { name: 'color', kind: 'string' as const },
      { name: 'noise', kind: 'number' as const },
      { name: 'label', kind: 'string' as const },
    ];
    const tensorizer = createTensorizer({ features: ['signal', 'color', 'noise'], label: 'label' }, pre.outputColumns(source));
    await tensorizer.fit(async function* () {
      yield* train.map((r) => pre.transform(r));
    });
    const width = tensorizer.inputs[0]!.shape[0]!;
    const model = tfl.sequential();
    model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [width], kernelInitializer: tfl.initializers.zeros() }));
    model.compile({ optimizer: tf.train.adam(0.1), loss: 'binaryCrossentropy' });
    const b = tensorizer.toBatch(train.map((r) => pre.transform(r)));
    await model.fit(b.xs as tf.Tensor, b.ys as tf.Tensor, { epochs: 60, batchSize: 100, shuffle: false, verbose: 0 });
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);

    const test = rows(300, 2);
    const task = tensorizer.task;
    const ex = await explainRows({
      model,
      tensorizer,
      rows: test,
      preprocess: (r) => pre.transform(r),
      metric: () => createMetric('accuracy', task),
      config: { examples: 4, repeats: 3 },
      seed: 1,
    });
    const imp = ex.importance!;
    expect(imp.metric).toBe('accuracy');
    expect(imp.baseline).toBeGreaterThan(0.9);
    expect(imp.importances.map((i) => i.column)).toEqual(['signal', 'color', 'noise']);
    expect(imp.importances[2]!.mean).toBeLessThan(0.03);
    expect(ex.examples).toHaveLength(4);
    for (const e of ex.examples) {
      expect(Object.keys(e.columns!).sort()).toEqual(['color', 'noise', 'signal']);
      // Completeness in the user's terms: the per-column values add up to f(x) − f(baseline).
      expect(e.gap!).toBeLessThan(0.01);
      const sum = Object.values(e.columns!).reduce((a, v) => a + v, 0);
      expect(sum).toBeCloseTo(e.output! - e.baselineOutput!, 3);
    }
    // Most wrong first: the first example's true-class probability is the lowest.
    expect(ex.examples[0]!.label).not.toBe(ex.examples[0]!.predicted);
    const again = await explainRows({ model, tensorizer, rows: test, preprocess: (r) => pre.transform(r), metric: () => createMetric('accuracy', task), config: { examples: 4, repeats: 3 }, seed: 1 });
    expect(again).toEqual(ex);
    await expectNoLeakedTensors(
      () => explainRows({ model, tensorizer, rows: test.slice(0, 20), preprocess: (r) => pre.transform(r), metric: () => createMetric('accuracy', task), config: { examples: 2, repeats: 1, steps: 8 } }),
      1,
    );
  });

  it('text through the run’s tokenizer: one attribution per token, with its word; the key word ranks first', async () => {
    const words = ['movie', 'plot', 'actor', 'scene', 'music', 'story', 'ending', 'camera', 'script', 'cast'];
    const rng = createRng(4);
    const make = (n: number): Row[] =>
      Array.from({ length: n }, (_, i) => {
        const len = 3 + Math.floor(rng.next() * 5);
        const toks = Array.from({ length: len }, () => words[Math.floor(rng.next() * words.length)]!);
        if (i % 2 === 1) toks[Math.floor(rng.next() * len)] = 'great';
        return { review: toks.join(' '), label: i % 2 === 1 ? 'pos' : 'neg' };
      });
    const train = make(300);
    const pre = Preprocessor.fromConfig([{ type: 'tokenize', column: 'review', maxLength: 8 }]);
    await pre.fit(async function* () {
      yield* train;
    });
    const source = [
      { name: 'review', kind: 'string' as const },
      { name: 'label', kind: 'string' as const },
    ];
    const tensorizer = createTensorizer({ features: ['review'], label: 'label' }, pre.outputColumns(source));
    await tensorizer.fit(async function* () {
      yield* train.map((r) => pre.transform(r));
    });
    const spec = tensorizer.inputs[0]!;
    const model = buildModel({ type: 'cnn', embedding: { dim: 8 }, blocks: [{ filters: 8, pooling: 'none' }] }, { inputs: [spec], task: tensorizer.task, seed: 2 });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const b = tensorizer.toBatch(train.map((r) => pre.transform(r)));
    await model.fit(b.xs as tf.Tensor, b.ys as tf.Tensor, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
    const test = make(40);
    const ex = await explainRows({
      model,
      tensorizer,
      rows: test,
      preprocess: (r) => pre.transform(r),
      vocab: vocabularies(pre.toJSON()),
      config: { methods: ['integrated-gradients'], examples: 6, select: 'per-class', logits: true },
    });
    const positives = ex.examples.filter((e) => e.label === 'pos' && e.predicted === 'pos');
    expect(positives.length).toBeGreaterThanOrEqual(2);
    for (const e of ex.examples) {
      const toks = e.tokens!.review!;
      // Words, not ids: the row's own text, padding left out.
      expect(toks.map((t) => t.token).join(' ')).toBe(String(test[e.index]!.review));
    }
    for (const e of positives) {
      const toks = e.tokens!.review!;
      const top = toks.reduce((a, t) => (t.value > a.value ? t : a));
      expect(top.token).toBe('great');
    }
    model.dispose();
  });

  it('selects most-wrong, per-class round robin, or a seeded random draw', () => {
    const task = { kind: 'multiclass' as const, classes: 3 };
    const probs = [
      [0.9, 0.05, 0.05],
      [0.1, 0.8, 0.1],
      [0.6, 0.3, 0.1],
      [0.2, 0.2, 0.6],
      [0.25, 0.35, 0.4],
    ];
    const truth = [0, 1, 1, 2, 0];
    expect(selectExamples({ examples: 2, select: 'most-wrong' }, task, probs, truth, 0)).toEqual([4, 2]);
    expect(selectExamples({ examples: 4, select: 'per-class' }, task, probs, truth, 0)).toEqual([0, 1, 3, 4]);
    const r = selectExamples({ examples: 3, select: 'random' }, task, probs, truth, 5);
    expect(r).toEqual(selectExamples({ examples: 3, select: 'random' }, task, probs, truth, 5));
    expect(new Set(r).size).toBe(3);
  });

  it('reads token vocabularies from a preprocessor state', () => {
    expect(vocabularies({ transforms: [{ config: { type: 'tokenize' }, state: { vocab: { text: ['good', 'bad'] } } }, { config: { type: 'rescale' }, state: null }] })).toEqual({
      text: ['good', 'bad'],
    });
  });
});

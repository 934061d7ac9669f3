import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Batch, TaskSpec } from '@tfpipe/core';
import { TfpipeError } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, oneHot, trainTinyMnist } from './__fixtures__/mnist.js';
import { type Evaluation, evaluateModel, type Predictor } from './evaluation.js';
import { checkGates, checkGatesConfig, gateError, gatesSchema } from './gates.js';
import { readEvaluation, writeEvaluation } from './io.js';
import { checkEvaluateConfig, evaluateSchema } from './schema.js';
import type { ClassWorstExample } from './worst.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A "model" that outputs its input: the batches carry the probabilities we want evaluated.
const identity: Predictor = { predict: (x) => tf.clone(x as tf.Tensor) };

// Case A of metrics.test.ts: confusion [2 1 0] [0 1 1] [0 0 1].
const A_TRUE = [0, 0, 0, 1, 1, 2];
const A_PROBS = [
  [0.8, 0.1, 0.1],
  [0.6, 0.3, 0.1],
  [0.3, 0.6, 0.1],
  [0.2, 0.7, 0.1],
  [0.1, 0.4, 0.5],
  [0.1, 0.2, 0.7],
];
const task: TaskSpec = { kind: 'multiclass', classes: 3, labels: ['cat', 'dog', 'eel'] };
const caseA = () =>
  (async function* (): AsyncGenerator<Batch> {
    for (const [s, e] of [[0, 4], [4, 6]] as const) {
      yield { xs: tf.tensor2d(A_PROBS.slice(s, e)), ys: oneHot(Int32Array.from(A_TRUE.slice(s, e)), 3) };
    }
  })();

describe('evaluateModel', () => {
  it('computes metrics, per-class table, confusion matrix, curves, calibration and worst examples', async () => {
    const e = await evaluateModel(identity, caseA, { task, metrics: ['accuracy', 'f1', { type: 'topKAccuracy', k: 2, name: 'top2' }], worst: 3 });
    expect(e.samples).toBe(6);
    expect(e.labels).toEqual(['cat', 'dog', 'eel']);
    expect(e.metrics.accuracy).toBeCloseTo(4 / 6, 6);
    expect(e.metrics.f1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 6);
    expect(e.metrics.top2).toBe(1);
    expect(e.directions).toEqual({ loss: 'min', accuracy: 'max', f1: 'max', top2: 'max' });
    expect(e.metrics.loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6) + Math.log(0.3) + Math.log(0.7) + Math.log(0.4) + Math.log(0.7)) / 6, 6);
    expect(e.confusionMatrix).toEqual({ labels: ['cat', 'dog', 'eel'], matrix: [[2, 1, 0], [0, 1, 1], [0, 0, 1]] });
    expect(e.perClass?.map((c) => [c.label, c.support])).toEqual([['cat', 3], ['dog', 2], ['eel', 1]]);
    expect(e.perClass?.[0]?.recall).toBeCloseTo(2 / 3, 6);
    expect(e.roc?.map((r) => r.auc)).toEqual([1, 7 / 8, 1]);
    // Class dog: thresholds .7 .6 .4 .3 .2 .1 -> ROC points from (0,0) to (1,1).
    expect(e.roc?.[1]?.points.at(0)).toMatchObject({ fpr: 0, tpr: 0 });
    expect(e.roc?.[1]?.points.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    expect(e.pr?.[1]?.ap).toBeCloseTo(0.5 + 1 / 3, 6);
    expect(e.calibration?.bins.reduce((s, b) => s + b.count, 0)).toBe(6);
    // Lowest p(true) first: s2 (.3), s4 (.4), s1 (.6).
    const worst = e.worst as ClassWorstExample[];
    expect(worst.map((w) => w.index)).toEqual([2, 4, 1]);
    expect(worst[0]).toMatchObject({ label: 'cat', pred: 'dog', correct: false });
    expect(worst[0]!.trueProb).toBeCloseTo(0.3, 6);
    expect(worst[2]).toMatchObject({ label: 'cat', pred: 'cat', correct: true });
    // JSON-ready.
    expect(JSON.parse(JSON.stringify(e)).metrics.accuracy).toBeCloseTo(4 / 6, 6);
  });

  it('binary tasks read a single sigmoid column and name [negative, positive]', async () => {
    const data = () =>
      (async function* (): AsyncGenerator<Batch> {
        yield { xs: tf.tensor2d([0.9, 0.5, 0.5, 0.1], [4, 1]), ys: tf.tensor2d([1, 1, 0, 0], [4, 1]) };
      })();
    const e = await evaluateModel(identity, data, { task: { kind: 'binary' }, labels: ['ham', 'spam'], metrics: ['accuracy', 'rocAuc', 'prAuc'] });
    expect(e.metrics).toMatchObject({ accuracy: 0.75, rocAuc: 0.875 });
    expect(e.roc?.map((r) => r.label)).toEqual(['spam']);
    expect(e.confusionMatrix?.matrix).toEqual([[2, 0], [1, 1]]);
  });

  it('regression: metrics and the largest errors', async () => {
    const data = () =>
      (async function* (): AsyncGenerator<Batch> {
        yield { xs: tf.tensor2d([1.5, 2, 2, 5], [4, 1]), ys: tf.tensor2d([1, 2, 3, 4], [4, 1]) };
      })();
    const e = await evaluateModel(identity, data, { task: { kind: 'regression', outputs: 1 }, worst: 2 });
    expect(e.metrics.mse).toBeCloseTo(0.5625, 6);
    expect(e.metrics.loss).toBeCloseTo(0.5625, 6);
    expect(e.metrics.r2).toBeCloseTo(0.55, 6);
    expect(e.worst.map((w) => w.index)).toEqual([2, 3]);
    expect(e.confusionMatrix).toBeUndefined();
  });

  it('multilabel: per-label table and curves, a label without negatives left out of the ROC average', async () => {
    // truth [[1,0],[1,1]], p [[.9,.6],[.4,.8]]. "red" is set in both samples: no ROC. "round": .8(+) > .6(-).
    const data = () =>
      (async function* (): AsyncGenerator<Batch> {
        yield { xs: tf.tensor2d([[0.9, 0.6], [0.4, 0.8]]), ys: tf.tensor2d([[1, 0], [1, 1]]) };
      })();
    const e = await evaluateModel(identity, data, { task: { kind: 'multilabel', classes: 2, labels: ['red', 'round'] }, metrics: ['accuracy', 'f1', 'rocAuc'] });
    expect(e.metrics.accuracy).toBe(0.5);
    expect(e.metrics.rocAuc).toBe(1);
    expect(e.roc?.map((r) => r.auc)).toEqual([Number.NaN, 1]);
    expect(e.perClass?.map((c) => c.f1)).toEqual([2 / 3, 2 / 3]);
    // Mean binary cross-entropy per sample: s0 (-ln .9 - ln .4) / 2, s1 (-ln .4 - ln .8) / 2: s1 is worse.
    expect(e.worst[0]).toMatchObject({ index: 1, label: 'red, round', pred: 'round', correct: false });
    expect((e.worst[0] as ClassWorstExample).loss).toBeCloseTo(-(Math.log(0.4) + Math.log(0.8)) / 2, 6);
    expect(e.confusionMatrix).toBeUndefined();
  });

  it('labels must match the class count', async () => {
    await expect(evaluateModel(identity, caseA, { task: { kind: 'multiclass', classes: 3 }, labels: ['a', 'b'] })).rejects.toThrow(/2 names; the multiclass task has 3/);
  });

  it('on a trained MNIST model: agrees with a direct count, and leaks nothing', async () => {
    const model = await trainTinyMnist(600, 3);
    const test = loadMnist('t10k', 300);
    const data = () =>
      (async function* (): AsyncGenerator<Batch> {
        for (let i = 0; i < 300; i += 100) {
          yield { xs: tf.tensor2d(test.x.subarray(i * 784, (i + 100) * 784), [100, 784]), ys: oneHot(test.y.subarray(i, i + 100), 10) };
        }
      })();
    const e = await evaluateModel(model, data, { task: { kind: 'multiclass', classes: 10 } });
    const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor2d(test.x, [300, 784])) as tf.Tensor, -1).dataSync() as Int32Array);
    const direct = pred.reduce((s: number, p: number, i: number) => s + (p === test.y[i] ? 1 : 0), 0) / 300;
    expect(e.metrics.accuracy).toBeCloseTo(direct, 10);
    expect(e.samples).toBe(300);
    for (let c = 0; c < 10; c++) {
      expect(e.confusionMatrix!.matrix[c]!.reduce((a, b) => a + b, 0)).toBe(test.y.filter((y) => y === c).length);
    }
    expect(e.metrics.rocAuc).toBeGreaterThan(0.9);
    await expectNoLeakedTensors(() => evaluateModel(model, data, { task: { kind: 'multiclass', classes: 10 } }), 2);
  });
});

describe('gates', () => {
  const evaluation: Evaluation = { task, samples: 10, metrics: { accuracy: 0.971, loss: 0.08, f1: Number.NaN }, directions: {}, worst: [] };
  const baseline: Evaluation = { ...evaluation, metrics: { accuracy: 0.98, loss: 0.05, f1: 0.9 } };

  it('value thresholds', () => {
    const gates = gatesSchema.parse({ accuracy: { min: 0.98 }, loss: { max: 0.1 } });
    const r = checkGates(evaluation, gates);
    expect(r.map((g) => [g.name, g.passed])).toEqual([['accuracy.min', false], ['loss.max', true]]);
    expect(r[0]!.message).toBe('accuracy 0.971 < min 0.98');
    expect(r[1]!.message).toBe('loss 0.08 <= max 0.1');
    expect(gateError(r)?.code).toBe('E_GATE');
    expect(gateError(r.slice(1))).toBeUndefined();
  });

  it('change thresholds against a baseline', () => {
    const gates = gatesSchema.parse({ vs: 'runs/previous', accuracy: { maxDrop: 0.005 }, loss: { maxRise: 0.05 } });
    const r = checkGates(evaluation, gates, baseline);
    expect(r.map((g) => g.passed)).toEqual([false, true]);
    expect(r[0]!.message).toBe('accuracy dropped 0.009 (0.98 -> 0.971) > maxDrop 0.005');
    expect(r[0]!.baseline).toBe(0.98);
    expect(() => checkGates(evaluation, gates)).toThrow(/no baseline/);
  });

  it('NaN (or null after JSON) never passes', () => {
    const r = checkGates(JSON.parse(JSON.stringify(evaluation)), gatesSchema.parse({ f1: { min: 0 } }));
    expect(r[0]!.passed).toBe(false);
    expect(r[0]!.message).toMatch(/not defined/);
  });

  it('a baseline read back from a run directory (NaN survives as NaN)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-eval-'));
    await writeEvaluation(dir, baseline);
    await writeEvaluation(join(dir, 'now'), evaluation);
    const back = await readEvaluation(dir);
    expect(back.metrics).toEqual(baseline.metrics);
    expect((await readEvaluation(join(dir, 'now', 'evaluation.json'))).metrics.f1).toBeNaN();
    await expect(readEvaluation(join(dir, 'missing'))).rejects.toThrow(/does not exist/);
    await rm(dir, { recursive: true, force: true });
  });

  it('a gate on a metric that is not computed is a config issue', () => {
    const issues = checkGatesConfig(gatesSchema.parse({ acuracy: { min: 0.9 }, loss: { maxDrop: 0.1 } }), ['accuracy']);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['evaluate.gates.acuracy', 'evaluate.gates.loss.maxDrop']);
    expect(issues[0]!.suggestion).toBe('accuracy');
    expect(() => checkGates(evaluation, gatesSchema.parse({ recall: { min: 0.5 } }))).toThrow(TfpipeError);
    expect(gatesSchema.safeParse({ accuracy: { minn: 0.9 } }).success).toBe(false);
    expect(gatesSchema.safeParse({ accuracy: {} }).success).toBe(false);
  });

  it('evaluateSchema defaults and the cross-field check', () => {
    const c = evaluateSchema.parse({});
    expect(c).toEqual({ report: { html: true, png: true }, worst: 16, calibrationBins: 10 });
    expect(evaluateSchema.safeParse({ metric: ['accuracy'] }).success).toBe(false);
    const parsed = evaluateSchema.parse({ metrics: ['accuracy', 'mse'], gates: { f1: { min: 0.9 } } });
    const issues = checkEvaluateConfig(parsed, task);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['evaluate.metrics.1', 'evaluate.gates.f1']);
    // Defaults by task make f1 computed.
    expect(checkEvaluateConfig(evaluateSchema.parse({ gates: { f1: { min: 0.9 } } }), task)).toEqual([]);
  });
});

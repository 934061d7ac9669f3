import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { TaskSpec } from '@tfpipe/core';
import { TfpipeError } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkMetrics, createMetric, createMetricRegistry, metricDirection } from './registry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const oneHot = (idx: number[], k: number) => tf.tensor2d(idx.map((c) => Array.from({ length: k }, (_, j) => (j === c ? 1 : 0))));

/** Runs one metric over (yTrue, yPred[, w]) batches and returns result(). */
function run(name: string | { type: string } & Record<string, unknown>, task: TaskSpec, batches: [tf.Tensor, tf.Tensor, tf.Tensor?][]): number {
  const m = createMetric(name, task);
  for (const [t, p, w] of batches) m.update(t, p, w);
  return m.result();
}

// Case A (3 classes). Rows of probabilities and the argmax each gives:
//   true 0: [.8 .1 .1]->0  [.6 .3 .1]->0  [.3 .6 .1]->1
//   true 1: [.2 .7 .1]->1  [.1 .4 .5]->2
//   true 2: [.1 .2 .7]->2
// Confusion rows (true) x cols (pred): [2 1 0] [0 1 1] [0 0 1].
// Per class: c0 P=1 R=2/3 F1=.8;  c1 P=.5 R=.5 F1=.5;  c2 P=.5 R=1 F1=2/3.  Supports 3, 2, 1.
const A_TRUE = [0, 0, 0, 1, 1, 2];
const A_PROBS = [
  [0.8, 0.1, 0.1],
  [0.6, 0.3, 0.1],
  [0.3, 0.6, 0.1],
  [0.2, 0.7, 0.1],
  [0.1, 0.4, 0.5],
  [0.1, 0.2, 0.7],
];
const multi3: TaskSpec = { kind: 'multiclass', classes: 3 };

describe('classification metrics, hand-computed (case A)', () => {
  const batches = (): [tf.Tensor, tf.Tensor][] => [[oneHot(A_TRUE, 3), tf.tensor2d(A_PROBS)]];
  const expected: Record<string, number> = {
    accuracy: 4 / 6,
    balancedAccuracy: (2 / 3 + 1 / 2 + 1) / 3,
    precision: (1 + 0.5 + 0.5) / 3,
    recall: (2 / 3 + 0.5 + 1) / 3,
    f1: (0.8 + 0.5 + 2 / 3) / 3,
    f1Macro: (0.8 + 0.5 + 2 / 3) / 3,
    precisionWeighted: (3 * 1 + 2 * 0.5 + 1 * 0.5) / 6,
    recallWeighted: 4 / 6,
    f1Weighted: (3 * 0.8 + 2 * 0.5 + (1 * 2) / 3) / 6,
    f1Micro: 4 / 6,
    precisionMicro: 4 / 6,
    recallMicro: 4 / 6,
    logLoss: -(Math.log(0.8) + Math.log(0.6) + Math.log(0.3) + Math.log(0.7) + Math.log(0.4) + Math.log(0.7)) / 6,
    // One-vs-rest: class 0 and 2 rank every positive above every negative; class 1: 7 of 8 pairs.
    rocAuc: (1 + 7 / 8 + 1) / 3,
    confusionMatrix: 4 / 6,
  };
  for (const [name, value] of Object.entries(expected)) {
    it(name, () => {
      expect(run(name, multi3, batches())).toBeCloseTo(value, 6);
    });
  }

  it('prAuc is average precision per class, macro-averaged', () => {
    // Class 1 ranked: .7(+) .6(-) .4(+) .3 .2 .1 -> AP = .5*1 + .5*(2/3). Classes 0 and 2: AP 1.
    expect(run('prAuc', multi3, batches())).toBeCloseTo((1 + (0.5 + 1 / 3) + 1) / 3, 6);
  });

  it('confusion matrix details are rows of true, columns of predicted', () => {
    const m = createMetric('confusionMatrix', multi3);
    const [[t, p]] = batches() as [[tf.Tensor, tf.Tensor]];
    m.update(t, p);
    expect(m.details?.()).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it('streams: two batches give the same as one, and reset starts over', () => {
    const m = createMetric('f1Weighted', multi3);
    m.update(oneHot(A_TRUE.slice(0, 4), 3), tf.tensor2d(A_PROBS.slice(0, 4)));
    m.update(oneHot(A_TRUE.slice(4), 3), tf.tensor2d(A_PROBS.slice(4)));
    expect(m.result()).toBeCloseTo(expected.f1Weighted!, 6);
    m.reset();
    m.update(oneHot([0], 3), tf.tensor2d([[0.9, 0.05, 0.05]]));
    expect(m.result()).toBe(1);
  });

  it('accepts class indices [n, 1] as yTrue', () => {
    expect(run('accuracy', multi3, [[tf.tensor2d(A_TRUE, [6, 1]), tf.tensor2d(A_PROBS)]])).toBeCloseTo(4 / 6, 6);
  });

  it('sample weights: weight 2 on a wrong sample, 0 on a right one', () => {
    // Correct weight: s0 1 + s1 1 + s3 1 + s5 0 = 3 of total 1+1+1+1+2+0 = 6.
    const w = tf.tensor1d([1, 1, 1, 1, 2, 0]);
    expect(run('accuracy', multi3, [[oneHot(A_TRUE, 3), tf.tensor2d(A_PROBS), w]])).toBeCloseTo(0.5, 6);
  });
});

describe('edge cases', () => {
  it('a class that never appears counts as 0 in macro F1 but not in balanced accuracy', () => {
    const task: TaskSpec = { kind: 'multiclass', classes: 4 };
    const probs = tf.tensor2d(A_PROBS.map((r) => [...r, 0]));
    const b = (): [tf.Tensor, tf.Tensor][] => [[oneHot(A_TRUE, 4), probs]];
    expect(run('f1', task, b())).toBeCloseTo((0.8 + 0.5 + 2 / 3 + 0) / 4, 6);
    expect(run('f1Weighted', task, b())).toBeCloseTo((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6, 6);
    expect(run('balancedAccuracy', task, b())).toBeCloseTo((2 / 3 + 1 / 2 + 1) / 3, 6);
    // Class 3 has no positives: it has no ROC area and is left out of the macro average.
    expect(run('rocAuc', task, b())).toBeCloseTo((1 + 7 / 8 + 1) / 3, 6);
  });

  it('a single class in yTrue', () => {
    const task: TaskSpec = { kind: 'multiclass', classes: 2 };
    const b = (): [tf.Tensor, tf.Tensor][] => [[oneHot([0, 0], 2), tf.tensor2d([[0.7, 0.3], [0.4, 0.6]])]];
    expect(run('accuracy', task, b())).toBe(0.5);
    expect(run('balancedAccuracy', task, b())).toBe(0.5);
    // c0: tp 1, fn 1 -> F1 2/3; c1: only a false positive -> 0.
    expect(run('f1', task, b())).toBeCloseTo(1 / 3, 6);
    expect(run('rocAuc', task, b())).toBeNaN();
  });

  it('ties: argmax takes the first class, top-k counts ties as in', () => {
    const b = (): [tf.Tensor, tf.Tensor][] => [[oneHot([1], 3), tf.tensor2d([[0.4, 0.4, 0.2]])]];
    expect(run('accuracy', multi3, b())).toBe(0);
    expect(run({ type: 'topKAccuracy', k: 1 }, multi3, b())).toBe(1);
    expect(run({ type: 'topKAccuracy', k: 2 }, multi3, [[oneHot([2, 0], 3), tf.tensor2d([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]])]])).toBe(0.5);
  });

  it('ROC ties get half credit; PR is average precision (binary task)', () => {
    // scores .9(+) .5(+) .5(-) .1(-): pairs 2 + (0.5 + 1) = 3.5 of 4.
    // AP: threshold .9 -> R .5 P 1; .5 -> R 1 P 2/3; AP = .5 + .5 * 2/3.
    const task: TaskSpec = { kind: 'binary' };
    const b = (): [tf.Tensor, tf.Tensor][] => [[tf.tensor2d([1, 1, 0, 0], [4, 1]), tf.tensor2d([0.9, 0.5, 0.5, 0.1], [4, 1])]];
    expect(run('rocAuc', task, b())).toBeCloseTo(0.875, 6);
    expect(run('prAuc', task, b())).toBeCloseTo(0.5 + 1 / 3, 6);
    // p = 0.5 is negative (p > 0.5 is positive, as Keras): preds 1 0 0 0.
    expect(run('accuracy', task, b())).toBe(0.75);
    expect(run('precision', task, b())).toBe(1);
    expect(run('recall', task, b())).toBe(0.5);
    expect(run('f1', task, b())).toBeCloseTo(2 / 3, 6);
    expect(run('logLoss', task, b())).toBeCloseTo(-(2 * Math.log(0.9) + 2 * Math.log(0.5)) / 4, 6);
  });

  it('binary with one class only has no ROC or PR area', () => {
    const task: TaskSpec = { kind: 'binary' };
    const b = (): [tf.Tensor, tf.Tensor][] => [[tf.tensor2d([0, 0], [2, 1]), tf.tensor2d([0.2, 0.7], [2, 1])]];
    expect(run('rocAuc', task, b())).toBeNaN();
    expect(run('prAuc', task, b())).toBeNaN();
    expect(run('accuracy', task, b())).toBe(0.5);
  });

  it('calibration: reliability bins and ECE', () => {
    // conf .85 ok -> bin 8; .62 wrong, .65 ok -> bin 6; .95 ok -> bin 9; .55 wrong -> bin 5.
    // ECE = (|0-.55| + 2|.5-.635| + |1-.85| + |1-.95|) / 5 = 1.02 / 5.
    const task: TaskSpec = { kind: 'multiclass', classes: 2 };
    const m = createMetric('calibration', task);
    m.update(oneHot([0, 1, 1, 1, 1], 2), tf.tensor2d([[0.85, 0.15], [0.62, 0.38], [0.35, 0.65], [0.05, 0.95], [0.55, 0.45]]));
    expect(m.result()).toBeCloseTo(0.204, 6);
    const bins = m.details?.() as { count: number; accuracy: number; confidence: number }[];
    expect(bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 1, 2, 0, 1, 1]);
    expect(bins[6]!.accuracy).toBe(0.5);
    expect(bins[6]!.confidence).toBeCloseTo(0.635, 6);
    expect(createMetric({ type: 'ece', bins: 5 }, task).direction).toBe('min');
  });

  it('multilabel: elementwise accuracy and per-label F1', () => {
    // truth [[1,0],[1,1]], preds (p > .5) [[1,1],[0,1]]: 2 of 4 elements right.
    // label 0: tp 1 fn 1 -> F1 2/3; label 1: tp 1 fp 1 -> F1 2/3.
    const task: TaskSpec = { kind: 'multilabel', classes: 2 };
    const b = (): [tf.Tensor, tf.Tensor][] => [[tf.tensor2d([[1, 0], [1, 1]]), tf.tensor2d([[0.9, 0.6], [0.4, 0.8]])]];
    expect(run('accuracy', task, b())).toBe(0.5);
    expect(run('f1', task, b())).toBeCloseTo(2 / 3, 6);
  });
});

describe('regression metrics, hand-computed', () => {
  // y = 1 2 3 4, yhat = 1.5 2 2 5, e = y - yhat = -.5 0 1 -1.
  const task: TaskSpec = { kind: 'regression', outputs: 1 };
  const b = (): [tf.Tensor, tf.Tensor][] => [[tf.tensor2d([1, 2, 3, 4], [4, 1]), tf.tensor2d([1.5, 2, 2, 5], [4, 1])]];
  const expected: Record<string, number> = {
    mse: (0.25 + 0 + 1 + 1) / 4,
    rmse: 0.75,
    mae: 2.5 / 4,
    mape: (100 * (0.5 / 1 + 0 + 1 / 3 + 1 / 4)) / 4,
    // SS_tot = 2.25 + .25 + .25 + 2.25 = 5, SS_res = 2.25.
    r2: 1 - 2.25 / 5,
    // Var(e) = .5625 - .125^2, Var(y) = 1.25.
    explainedVariance: 1 - (0.5625 - 0.015625) / 1.25,
  };
  for (const [name, value] of Object.entries(expected)) {
    it(name, () => expect(run(name, task, b())).toBeCloseTo(value, 6));
  }
  it('constant target: r2 is 1 when perfect, 0 otherwise', () => {
    expect(run('r2', task, [[tf.tensor2d([3, 3], [2, 1]), tf.tensor2d([3, 3], [2, 1])]])).toBe(1);
    expect(run('r2', task, [[tf.tensor2d([3, 3], [2, 1]), tf.tensor2d([3, 4], [2, 1])]])).toBe(0);
  });
  it('several outputs: RMSE per output, then averaged', () => {
    const t2: TaskSpec = { kind: 'regression', outputs: 2 };
    expect(run('rmse', t2, [[tf.zeros([2, 2]), tf.tensor2d([[1, 3], [1, 3]])]])).toBeCloseTo(2, 6);
  });
});

describe('registry', () => {
  it('unknown names suggest the nearest', () => {
    try {
      createMetric('acuracy', multi3);
      expect.unreachable();
    } catch (e) {
      expect((e as TfpipeError).code).toBe('E_UNKNOWN_TYPE');
      expect((e as Error).message).toContain('did you mean "accuracy"');
    }
  });
  it('a metric for another task, or bad options, is a config error', () => {
    expect(() => createMetric('mse', multi3)).toThrow(/not defined for a multiclass task/);
    expect(() => createMetric({ type: 'topKAccuracy', k: 3 }, multi3)).toThrow(/always be 1/);
    expect(() => createMetric({ type: 'topKAccuracy', kk: 1 }, multi3)).toThrow(TfpipeError);
    expect(() => createMetric({ type: 'f1', average: 'binary' }, multi3)).toThrow(/binary task/);
  });
  it('checkMetrics returns issues with paths and suggestions', () => {
    const issues = checkMetrics(['accuracy', 'f1Macr', 'mse', 'accuracy'], multi3);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['evaluate.metrics.1', 'evaluate.metrics.2', 'evaluate.metrics.3']);
    expect(issues[0]!.suggestion).toBe('f1Macro');
  });
  it('a NaN prediction is an error, not class 0', () => {
    expect(() => run('accuracy', multi3, [[oneHot([0], 3), tf.tensor2d([[Number.NaN, 0.5, 0.5]])]])).toThrow(/NaN/);
  });
  it('directions are declared', () => {
    expect(metricDirection('accuracy')).toBe('max');
    expect(metricDirection('val_loss')).toBe('min');
    expect(metricDirection('val_ece')).toBe('min');
    expect(metricDirection('mape')).toBe('min');
    expect(metricDirection('r2')).toBe('max');
    for (const e of createMetricRegistry().entries()) expect(['max', 'min']).toContain(e.direction);
  });
  it('updating metrics leaks no tensors', async () => {
    const t = oneHot(A_TRUE, 3);
    const p = tf.tensor2d(A_PROBS);
    const ms = createMetricRegistry()
      .entries()
      .filter((e) => e.tasks.includes('multiclass') && e.type !== 'topKAccuracy')
      .map((e) => createMetric(e.type, multi3));
    await expectNoLeakedTensors(() => {
      for (const m of ms) m.update(t, p);
    });
    tf.dispose([t, p]);
  });
});

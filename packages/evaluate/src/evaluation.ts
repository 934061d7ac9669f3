import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type Direction, type TaskSpec, type Tensors, TfpipeError } from '@tfpipe/core';
import { ClassCounts } from './metrics/counts.js';
import type { EvalMetric } from './metrics/metric.js';
import { Calibration, type CalibrationBin, sampleLogLoss, WeightedMean } from './metrics/probabilistic.js';
import { type PrPoint, prFromSweep, rankedClasses, type RocPoint, rocFromSweep, ScoreStore, thinPoints } from './metrics/ranking.js';
import { createMetric, createMetricRegistry, defaultMetrics, type MetricRegistry, type MetricSpec, metricName } from './metrics/registry.js';
import { RegressionSums } from './metrics/regression.js';
import { type View, viewOf } from './views.js';
import { WorstTracker, type WorstExample } from './worst.js';

/** What `evaluateModel` needs from a model: tfjs-layers' `predict`. */
export interface Predictor {
  predict(x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[];
  /** Used instead of predict when present (a LayersModel has it: its predict() splits a batch into 32s). */
  predictOnBatch?(x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[];
  readonly inputNames?: string[];
}

export interface PerClass {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of samples of this class (weighted when weights are given). */
  support: number;
}

/** Everything an evaluation found, JSON-ready (NaN becomes null in JSON). */
export interface Evaluation {
  task: TaskSpec;
  /** Class names (classification), in class-index order. */
  labels?: string[];
  /** Number of samples seen. */
  samples: number;
  /** Scalar results, keyed as listed in `metrics`, plus `loss` (the task's default loss: cross-entropy or MSE). */
  metrics: Record<string, number>;
  directions: Record<string, Direction>;
  perClass?: PerClass[];
  /** Rows: true class; columns: predicted class. */
  confusionMatrix?: { labels: string[]; matrix: number[][] };
  /** One curve per class (one-vs-rest); binary: the positive class only. Points thinned to `curvePoints`. */
  roc?: { label: string; auc: number; points: RocPoint[] }[];
  pr?: { label: string; ap: number; points: PrPoint[] }[];
  calibration?: { ece: number; bins: CalibrationBin[] };
  /** The most-wrong predictions first: lowest probability of the true class (regression: largest error). */
  worst: WorstExample[];
}

export interface EvaluateOptions {
  task: TaskSpec;
  /** Metric names or `{ type, ...options }`; default: `defaultMetrics(task)`. */
  metrics?: MetricSpec[];
  /** Class names; default: `task.labels`, else "0", "1", ... */
  labels?: string[];
  /** How many worst examples to keep (default 16). */
  worst?: number;
  /** Reliability bins for the calibration section (default 10). */
  calibrationBins?: number;
  /** Most points kept per ROC/PR curve in the result (default 201); areas are computed on all of them. */
  curvePoints?: number;
  registry?: MetricRegistry;
}

/** Class names for a task, checked against its class count. */
export function resolveLabels(task: TaskSpec, labels?: string[]): string[] | undefined {
  if (task.kind === 'regression') return undefined;
  const k = task.kind === 'binary' ? 2 : task.classes;
  const names = labels ?? task.labels ?? Array.from({ length: k }, (_, i) => String(i));
  if (names.length !== k) {
    throw new TfpipeError('E_USAGE', `labels has ${names.length} names; the ${task.kind} task has ${k} classes`, {
      hint: task.kind === 'binary' ? 'Binary labels are [negative, positive].' : 'Give one name per class, in class-index order.',
    });
  }
  return names;
}

function single(t: Tensors, what: string): tf.Tensor {
  if (t instanceof tf.Tensor) return t;
  const keys = Object.keys(t);
  if (keys.length === 1) return t[keys[0]!]!;
  throw new TfpipeError('E_USAGE', `evaluateModel handles one output; ${what} has ${keys.length} named tensors (${keys.join(', ')})`);
}

function modelInput(model: Predictor, xs: Tensors): tf.Tensor | tf.Tensor[] {
  if (xs instanceof tf.Tensor) return xs;
  const names = model.inputNames ?? Object.keys(xs);
  return names.map((n) => {
    const t = xs[n];
    if (!t) throw new TfpipeError('E_DATA', `the batch has no input "${n}"; it has ${Object.keys(xs).join(', ')}`);
    return t;
  });
}

/**
 * Runs the model over every batch once and computes the metrics, per-class table, confusion matrix,
 * ROC/PR curves, calibration bins and the worst examples. Batches are disposed as they are consumed.
 */
export async function evaluateModel(model: Predictor, data: () => AsyncIterable<Batch>, options: EvaluateOptions): Promise<Evaluation> {
  const { task } = options;
  const registry = options.registry ?? createMetricRegistry();
  const specs = options.metrics ?? defaultMetrics(task);
  const labels = resolveLabels(task, options.labels);
  const metrics: [string, EvalMetric][] = specs.map((s, i) => [metricName(s), createMetric(s, task, registry, ['metrics', i])]);
  const isClass = task.kind === 'multiclass' || task.kind === 'binary';
  const k = task.kind === 'binary' ? 2 : task.kind === 'regression' ? task.outputs : task.classes;

  const counts = task.kind === 'regression' ? undefined : new ClassCounts(k);
  const scores = task.kind === 'regression' ? undefined : new ScoreStore();
  const calibration = isClass ? new Calibration(options.calibrationBins ?? 10) : undefined;
  const loss = task.kind === 'regression' ? new RegressionSums() : new WeightedMean(sampleLogLoss);
  const worst = new WorstTracker(options.worst ?? 16, labels);
  let samples = 0;

  for await (const batch of data()) {
    let view: View;
    try {
      const yTrue = single(batch.ys, 'ys');
      const yPred = tf.tidy(() => {
        const input = modelInput(model, batch.xs);
        const out = model.predictOnBatch ? model.predictOnBatch(input) : model.predict(input);
        return single(Array.isArray(out) ? Object.fromEntries(out.map((t, i) => [String(i), t])) : out, 'the model output');
      });
      try {
        view = viewOf(task, yTrue, yPred, batch.sampleWeight);
      } finally {
        yPred.dispose();
      }
    } finally {
      disposeBatch(batch);
    }
    for (const [, m] of metrics) m.updateView(view);
    counts?.add(view);
    scores?.add(view);
    calibration?.add(view);
    loss.add(view);
    worst.add(view, samples);
    samples += view.n;
  }

  const evaluation: Evaluation = {
    task,
    ...(labels ? { labels } : {}),
    samples,
    metrics: { loss: loss instanceof RegressionSums ? loss.value('mse') : loss.value() },
    directions: { loss: 'min' },
    worst: worst.result(),
  };
  for (const [i, [name, m]] of metrics.entries()) {
    // The confusion matrix is a table (evaluation.confusionMatrix), not a number to list beside the metrics.
    const spec = specs[i]!;
    if ((typeof spec === 'string' ? spec : spec.type) === 'confusionMatrix') continue;
    evaluation.metrics[name] = m.result();
    evaluation.directions[name] = m.direction;
  }
  if (counts && labels) {
    evaluation.perClass = labels.map((label, c) => ({
      label,
      precision: counts.precision(c),
      recall: counts.recall(c),
      f1: counts.f1(c),
      support: counts.support(c),
    }));
  }
  if (counts && labels && isClass) evaluation.confusionMatrix = { labels, matrix: counts.toRows() };
  if (scores && labels && samples > 0) {
    const max = options.curvePoints ?? 201;
    const classes = rankedClasses(scores, task.kind === 'binary');
    evaluation.roc = [];
    evaluation.pr = [];
    for (const c of classes) {
      const sweep = scores.sweep(c);
      const roc = rocFromSweep(sweep);
      const pr = prFromSweep(sweep);
      evaluation.roc.push({ label: labels[c]!, auc: roc.auc, points: thinPoints(roc.points, max) });
      evaluation.pr.push({ label: labels[c]!, ap: pr.ap, points: thinPoints(pr.points, max) });
    }
  }
  if (calibration) evaluation.calibration = { ece: calibration.ece(), bins: calibration.table() };
  return evaluation;
}

function disposeBatch(batch: Batch): void {
  const all: tf.Tensor[] = [];
  for (const t of [batch.xs, batch.ys]) {
    if (t instanceof tf.Tensor) all.push(t);
    else all.push(...Object.values(t));
  }
  if (batch.sampleWeight) all.push(batch.sampleWeight);
  tf.dispose(all);
}

import type * as tf from '@tensorflow/tfjs-core';
import { TfpipeError, type TaskSpec } from '@tfpipe/core';

/**
 * One batch read out of tensors into plain arrays, in the shape each task needs. Metrics accumulate
 * from views, so a batch is read from the backend once however many metrics consume it.
 */
export type View = ClassView | MultiLabelView | RegressionView;

/** Multiclass and binary: one true class per sample and a probability row of `k` classes. */
export interface ClassView {
  kind: 'class';
  /** True for a binary task: `probs` is [1 - p, p] built from the model's single sigmoid output. */
  binary: boolean;
  n: number;
  k: number;
  trueIdx: Int32Array;
  /** Row-major [n, k]. */
  probs: Float32Array;
  weights: Float64Array | undefined;
}

/** Multilabel: `k` independent 0/1 targets per sample. */
export interface MultiLabelView {
  kind: 'multilabel';
  n: number;
  k: number;
  truth: Float32Array;
  probs: Float32Array;
  weights: Float64Array | undefined;
}

/** Regression: `k` outputs per sample. */
export interface RegressionView {
  kind: 'regression';
  n: number;
  k: number;
  yTrue: Float32Array;
  yPred: Float32Array;
  weights: Float64Array | undefined;
}

/** The weight of sample i (1 when the batch has no weights). */
export function weightAt(view: View, i: number): number {
  return view.weights ? view.weights[i]! : 1;
}

function shapeError(what: string, shape: number[], expected: string, task: TaskSpec): TfpipeError {
  return new TfpipeError('E_DATA', `${what} has shape [${shape.join(', ')}]; expected ${expected} for a ${task.kind} task`, {
    hint: 'yTrue is what the tensorizer emits: one-hot [n, k] for multiclass, [n, 1] for binary and regression.',
  });
}

/** Collapses [n], [n, 1] or [n, k] to (n, width). */
function rows(t: tf.Tensor): { n: number; width: number } {
  if (t.rank === 1) return { n: t.shape[0]!, width: 1 };
  if (t.rank === 2) return { n: t.shape[0]!, width: t.shape[1]! };
  return { n: t.shape[0] ?? 0, width: -1 };
}

function readWeights(w: tf.Tensor | undefined, n: number): Float64Array | undefined {
  if (!w) return undefined;
  if (w.size !== n) {
    throw new TfpipeError('E_DATA', `sampleWeight has shape [${w.shape.join(', ')}]; expected [${n}] (one weight per sample)`);
  }
  const out = Float64Array.from(w.dataSync() as Float32Array);
  for (const v of out) {
    if (!(v >= 0)) throw new TfpipeError('E_DATA', `sampleWeight holds ${v}; expected weights >= 0`);
  }
  return out;
}

/** Reads one batch of labels and predictions into the view its task needs. */
export function viewOf(task: TaskSpec, yTrue: tf.Tensor, yPred: tf.Tensor, sampleWeight?: tf.Tensor): View {
  const t = rows(yTrue);
  const p = rows(yPred);
  if (t.width < 0) throw shapeError('yTrue', yTrue.shape, '[n, k] or [n, 1]', task);
  if (p.width < 0) throw shapeError('yPred', yPred.shape, '[n, k] or [n, 1]', task);
  if (t.n !== p.n) {
    throw new TfpipeError('E_DATA', `yTrue has ${t.n} samples but yPred has ${p.n}; they must match`);
  }
  const n = t.n;
  const weights = readWeights(sampleWeight, n);
  const tv = yTrue.dataSync() as Float32Array;
  const pv = yPred.dataSync() as Float32Array;
  // A NaN prediction would silently count as class 0; a diverged model must fail loudly instead.
  for (let i = 0; i < pv.length; i++) {
    if (Number.isNaN(pv[i]!)) {
      throw new TfpipeError('E_DATA', `yPred holds NaN (sample ${Math.floor(i / Math.max(1, p.width))}); the model output is not a number`, {
        hint: 'The model has likely diverged (NaN weights); check the training loss.',
      });
    }
  }

  if (task.kind === 'regression') {
    if (p.width !== task.outputs) throw shapeError('yPred', yPred.shape, `[n, ${task.outputs}]`, task);
    if (t.width !== task.outputs) throw shapeError('yTrue', yTrue.shape, `[n, ${task.outputs}]`, task);
    return { kind: 'regression', n, k: task.outputs, yTrue: Float32Array.from(tv), yPred: Float32Array.from(pv), weights };
  }
  if (task.kind === 'multilabel') {
    if (p.width !== task.classes) throw shapeError('yPred', yPred.shape, `[n, ${task.classes}]`, task);
    if (t.width !== task.classes) throw shapeError('yTrue', yTrue.shape, `[n, ${task.classes}]`, task);
    return { kind: 'multilabel', n, k: task.classes, truth: Float32Array.from(tv), probs: Float32Array.from(pv), weights };
  }

  const k = task.kind === 'binary' ? 2 : task.classes;
  const trueIdx = new Int32Array(n);
  if (t.width === k && k > 1 && !(task.kind === 'binary' && t.width === 1)) {
    // One-hot: the first maximum (np.argmax / tf.argMax convention).
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (tv[i * k + c]! > tv[i * k + best]!) best = c;
      trueIdx[i] = best;
    }
  } else if (t.width === 1) {
    for (let i = 0; i < n; i++) {
      const v = tv[i]!;
      const c = task.kind === 'binary' ? (v >= 0.5 ? 1 : 0) : Math.round(v);
      if (!(c >= 0 && c < k)) throw new TfpipeError('E_DATA', `yTrue holds class index ${v}; expected an integer in [0, ${k - 1}]`);
      trueIdx[i] = c;
    }
  } else {
    throw shapeError('yTrue', yTrue.shape, task.kind === 'binary' ? '[n, 1]' : `one-hot [n, ${k}] or class indices [n, 1]`, task);
  }

  let probs: Float32Array;
  if (task.kind === 'binary' && p.width === 1) {
    // [1 - p, p]: the argmax of this row is "p > 0.5", the Keras binary_accuracy threshold (0.5 is negative).
    probs = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      probs[i * 2] = 1 - pv[i]!;
      probs[i * 2 + 1] = pv[i]!;
    }
  } else if (p.width === k) {
    probs = Float32Array.from(pv);
  } else {
    throw shapeError('yPred', yPred.shape, task.kind === 'binary' ? '[n, 1] (sigmoid) or [n, 2] (softmax)' : `[n, ${k}]`, task);
  }
  return { kind: 'class', binary: task.kind === 'binary', n, k, trueIdx, probs, weights };
}

/** Predicted class of row i: the first maximum. */
export function argmaxRow(probs: Float32Array, k: number, i: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
  return best;
}

import type { View } from '../views.js';
import { weightAt } from '../views.js';

/**
 * Keeps every sample's scores in memory (k float32 per sample plus its label and weight), so ROC and
 * PR AUC are exact, ties included. 10,000 samples x 10 classes is about 0.5 MB.
 */
export class ScoreStore {
  k = 0;
  n = 0;
  private scores = new Float32Array(0);
  /** [n * k] 0/1 membership of each sample in each class (one-hot for multiclass, labels for multilabel). */
  private positive = new Uint8Array(0);
  private weights = new Float64Array(0);

  add(view: View): void {
    if (view.kind === 'regression') return;
    const k = view.kind === 'class' && view.binary ? 2 : view.k;
    if (this.n === 0) this.k = k;
    this.reserve(this.n + view.n);
    for (let i = 0; i < view.n; i++) {
      const r = this.n + i;
      for (let c = 0; c < k; c++) {
        this.scores[r * k + c] = view.probs[i * k + c]!;
        this.positive[r * k + c] = view.kind === 'class' ? (view.trueIdx[i] === c ? 1 : 0) : view.truth[i * k + c]! >= 0.5 ? 1 : 0;
      }
      this.weights[r] = weightAt(view, i);
    }
    this.n += view.n;
  }

  private reserve(n: number): void {
    if (n * this.k <= this.scores.length) return;
    const cap = Math.max(n, this.n * 2, 256);
    const s = new Float32Array(cap * this.k);
    s.set(this.scores);
    const p = new Uint8Array(cap * this.k);
    p.set(this.positive);
    const w = new Float64Array(cap);
    w.set(this.weights);
    this.scores = s;
    this.positive = p;
    this.weights = w;
  }

  reset(): void {
    this.n = 0;
    this.k = 0;
    this.scores = new Float32Array(0);
    this.positive = new Uint8Array(0);
    this.weights = new Float64Array(0);
  }

  /** One-vs-rest ranking for class c: distinct thresholds, high to low, with cumulative weights. */
  sweep(c: number): Sweep {
    const { n, k } = this;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.scores[b * k + c]! - this.scores[a * k + c]!);
    const thresholds: number[] = [];
    const tps: number[] = [];
    const fps: number[] = [];
    let tp = 0;
    let fp = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j]!;
      const w = this.weights[i]!;
      if (this.positive[i * k + c]) tp += w;
      else fp += w;
      const s = this.scores[i * k + c]!;
      // Emit a point only after the last sample of a run of tied scores: ties move together.
      const next = j + 1 < n ? this.scores[order[j + 1]! * k + c]! : Number.NaN;
      if (next !== s) {
        thresholds.push(s);
        tps.push(tp);
        fps.push(fp);
      }
    }
    return { thresholds, tps, fps, positives: tp, negatives: fp };
  }
}

export interface Sweep {
  thresholds: number[];
  tps: number[];
  fps: number[];
  positives: number;
  negatives: number;
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number;
}
export interface PrPoint {
  recall: number;
  precision: number;
  threshold: number;
}

/** ROC curve from (0, 0) and its trapezoidal area (tied scores get half credit). NaN if a side is empty. */
export function rocFromSweep(s: Sweep): { auc: number; points: RocPoint[] } {
  if (s.positives === 0 || s.negatives === 0) return { auc: Number.NaN, points: [] };
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY }];
  let auc = 0;
  let prevF = 0;
  let prevT = 0;
  for (let j = 0; j < s.thresholds.length; j++) {
    const f = s.fps[j]! / s.negatives;
    const t = s.tps[j]! / s.positives;
    auc += ((f - prevF) * (t + prevT)) / 2;
    points.push({ fpr: f, tpr: t, threshold: s.thresholds[j]! });
    prevF = f;
    prevT = t;
  }
  return { auc, points };
}

/**
 * Average precision, scikit-learn's `average_precision_score`: sum over thresholds of
 * (R_n - R_{n-1}) * P_n, no interpolation. The curve starts at (recall 0, precision 1). NaN without positives.
 */
export function prFromSweep(s: Sweep): { ap: number; points: PrPoint[] } {
  if (s.positives === 0) return { ap: Number.NaN, points: [] };
  const points: PrPoint[] = [{ recall: 0, precision: 1, threshold: Number.POSITIVE_INFINITY }];
  let ap = 0;
  let prevR = 0;
  for (let j = 0; j < s.thresholds.length; j++) {
    const tp = s.tps[j]!;
    const r = tp / s.positives;
    const p = tp / (tp + s.fps[j]!);
    ap += (r - prevR) * p;
    points.push({ recall: r, precision: p, threshold: s.thresholds[j]! });
    prevR = r;
  }
  return { ap, points };
}

/** Classes that a ranking metric scores: the positive class for binary, every class otherwise. */
export function rankedClasses(store: ScoreStore, binary: boolean): number[] {
  return binary ? [1] : Array.from({ length: store.k }, (_, c) => c);
}

/**
 * Macro average over classes of a per-class area. Classes with no positives (or, for ROC, no negatives)
 * have no defined area and are left out, as they would make scikit-learn raise; NaN if none is left.
 */
export function macroArea(values: number[]): number {
  const ok = values.filter((v) => !Number.isNaN(v));
  return ok.length === 0 ? Number.NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
}

/** Keeps at most `max` points, evenly spaced by index, first and last included (for JSON and plots). */
export function thinPoints<T>(points: T[], max: number): T[] {
  if (points.length <= max || max < 2) return points;
  const out: T[] = [];
  for (let j = 0; j < max; j++) out.push(points[Math.round((j * (points.length - 1)) / (max - 1))]!);
  return out;
}

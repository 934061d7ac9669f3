import type { View } from '../views.js';
import { argmaxRow, weightAt } from '../views.js';
import { safeDiv } from './metric.js';

/**
 * Weighted counts behind accuracy and precision/recall/F1. Multiclass and binary keep the full
 * confusion matrix (rows: true class, columns: predicted class); multilabel keeps per-label
 * true/false positives with the 0.5 threshold (`p > 0.5` is positive, as Keras binary_accuracy).
 */
export class ClassCounts {
  readonly k: number;
  /** [k * k], row = true, column = predicted; present for multiclass and binary. */
  readonly matrix: Float64Array;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  /** Multilabel only: elementwise correct weight and total weight. */
  private mlCorrect = 0;
  private mlTotal = 0;
  private multilabel = false;

  constructor(k: number) {
    this.k = k;
    this.matrix = new Float64Array(k * k);
    this.tp = new Float64Array(k);
    this.fp = new Float64Array(k);
    this.fn = new Float64Array(k);
  }

  add(view: View): void {
    if (view.kind === 'class') {
      const { k, probs, trueIdx } = view;
      for (let i = 0; i < view.n; i++) {
        const t = trueIdx[i]!;
        const p = argmaxRow(probs, k, i);
        const w = weightAt(view, i);
        this.matrix[t * k + p]! += w;
        if (t === p) this.tp[t]! += w;
        else {
          this.fn[t]! += w;
          this.fp[p]! += w;
        }
      }
    } else if (view.kind === 'multilabel') {
      this.multilabel = true;
      const { k, probs, truth } = view;
      for (let i = 0; i < view.n; i++) {
        const w = weightAt(view, i);
        for (let c = 0; c < k; c++) {
          const pred = probs[i * k + c]! > 0.5;
          const pos = truth[i * k + c]! >= 0.5;
          if (pred && pos) this.tp[c]! += w;
          else if (pred) this.fp[c]! += w;
          else if (pos) this.fn[c]! += w;
          if (pred === pos) this.mlCorrect += w;
          this.mlTotal += w;
        }
      }
    }
  }

  reset(): void {
    this.matrix.fill(0);
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
    this.mlCorrect = 0;
    this.mlTotal = 0;
  }

  /** Weighted number of samples with class c (multiclass) or with label c set (multilabel). */
  support(c: number): number {
    return this.tp[c]! + this.fn[c]!;
  }

  /** Fraction correct: the diagonal over the total; elementwise for multilabel. NaN with no samples. */
  accuracy(): number {
    if (this.multilabel) return this.mlTotal === 0 ? Number.NaN : this.mlCorrect / this.mlTotal;
    let correct = 0;
    let total = 0;
    for (let c = 0; c < this.k; c++) {
      correct += this.tp[c]!;
      total += this.support(c);
    }
    return total === 0 ? Number.NaN : correct / total;
  }

  /** Mean recall over the classes that occur in yTrue (scikit-learn's balanced_accuracy_score). */
  balancedAccuracy(): number {
    let sum = 0;
    let present = 0;
    for (let c = 0; c < this.k; c++) {
      if (this.support(c) > 0) {
        sum += this.tp[c]! / this.support(c);
        present++;
      }
    }
    return present === 0 ? Number.NaN : sum / present;
  }

  precision(c: number): number {
    return safeDiv(this.tp[c]!, this.tp[c]! + this.fp[c]!);
  }

  recall(c: number): number {
    return safeDiv(this.tp[c]!, this.tp[c]! + this.fn[c]!);
  }

  f1(c: number): number {
    return safeDiv(2 * this.tp[c]!, 2 * this.tp[c]! + this.fp[c]! + this.fn[c]!);
  }

  /** The k x k matrix as nested arrays (JSON-ready). */
  toRows(): number[][] {
    return Array.from({ length: this.k }, (_, r) => Array.from(this.matrix.subarray(r * this.k, (r + 1) * this.k)));
  }
}

export type Average = 'macro' | 'micro' | 'weighted' | 'binary';
export type PrfKind = 'precision' | 'recall' | 'f1';

/**
 * Precision, recall or F1 averaged the scikit-learn way: macro over all k classes (a class with no
 * predictions and no samples counts as 0), weighted by support, micro from pooled counts, or binary
 * (the positive class, index 1).
 */
export function averagedPrf(counts: ClassCounts, kind: PrfKind, average: Average): number {
  const k = counts.k;
  const per = (c: number) => (kind === 'precision' ? counts.precision(c) : kind === 'recall' ? counts.recall(c) : counts.f1(c));
  if (average === 'binary') return per(1);
  if (average === 'micro') {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let c = 0; c < k; c++) {
      tp += counts.tp[c]!;
      fp += counts.fp[c]!;
      fn += counts.fn[c]!;
    }
    if (kind === 'precision') return safeDiv(tp, tp + fp);
    if (kind === 'recall') return safeDiv(tp, tp + fn);
    return safeDiv(2 * tp, 2 * tp + fp + fn);
  }
  if (average === 'weighted') {
    let sum = 0;
    let total = 0;
    for (let c = 0; c < k; c++) {
      sum += counts.support(c) * per(c);
      total += counts.support(c);
    }
    return safeDiv(sum, total);
  }
  let sum = 0;
  for (let c = 0; c < k; c++) sum += per(c);
  return sum / k;
}

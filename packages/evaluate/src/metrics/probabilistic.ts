import type { ClassView, View } from '../views.js';
import { argmaxRow, weightAt } from '../views.js';

/** Probabilities are clipped to [EPS, 1 - EPS] before the log, as Keras' backend epsilon. */
export const EPS = 1e-7;

function clip(p: number): number {
  return Math.min(1 - EPS, Math.max(EPS, p));
}

/** Cross-entropy of sample i: -log p(true class); for multilabel the mean binary cross-entropy over labels. */
export function sampleLogLoss(view: View, i: number): number {
  if (view.kind === 'class') return -Math.log(clip(view.probs[i * view.k + view.trueIdx[i]!]!));
  if (view.kind === 'multilabel') {
    let s = 0;
    for (let c = 0; c < view.k; c++) {
      const p = clip(view.probs[i * view.k + c]!);
      s += view.truth[i * view.k + c]! >= 0.5 ? -Math.log(p) : -Math.log(1 - p);
    }
    return s / view.k;
  }
  return Number.NaN;
}

/** Weighted mean of a per-sample quantity over the stream. */
export class WeightedMean {
  private sum = 0;
  private weight = 0;
  constructor(private readonly perSample: (view: View, i: number) => number) {}
  add(view: View): void {
    for (let i = 0; i < view.n; i++) {
      const w = weightAt(view, i);
      if (w === 0) continue;
      this.sum += w * this.perSample(view, i);
      this.weight += w;
    }
  }
  value(): number {
    return this.weight === 0 ? Number.NaN : this.sum / this.weight;
  }
  reset(): void {
    this.sum = 0;
    this.weight = 0;
  }
}

/**
 * 1 when the true class is among the k highest scores. Ties at the boundary count as in the top k
 * (a class is in when fewer than k classes score strictly higher), as tf.math.in_top_k.
 */
export function inTopK(view: ClassView, i: number, k: number): number {
  const s = view.probs[i * view.k + view.trueIdx[i]!]!;
  let higher = 0;
  for (let c = 0; c < view.k; c++) if (view.probs[i * view.k + c]! > s) higher++;
  return higher < k ? 1 : 0;
}

export interface CalibrationBin {
  /** Confidence range [lo, hi); the last bin includes 1. */
  lo: number;
  hi: number;
  /** Weighted number of samples in the bin. */
  count: number;
  /** Mean top-label confidence in the bin (NaN when empty). */
  confidence: number;
  /** Fraction correct in the bin (NaN when empty). */
  accuracy: number;
}

/**
 * Reliability bins over the top-label confidence (max probability; correct = argmax is the true
 * class), as Guo et al. 2017. Bin b holds confidences in [b/B, (b+1)/B). ECE = sum_b (n_b / N) |acc_b - conf_b|.
 */
export class Calibration {
  private readonly count: Float64Array;
  private readonly conf: Float64Array;
  private readonly correct: Float64Array;
  constructor(readonly bins: number) {
    this.count = new Float64Array(bins);
    this.conf = new Float64Array(bins);
    this.correct = new Float64Array(bins);
  }
  add(view: View): void {
    if (view.kind !== 'class') return;
    for (let i = 0; i < view.n; i++) {
      const pred = argmaxRow(view.probs, view.k, i);
      const c = view.probs[i * view.k + pred]!;
      const b = Math.min(this.bins - 1, Math.max(0, Math.floor(c * this.bins)));
      const w = weightAt(view, i);
      this.count[b]! += w;
      this.conf[b]! += w * c;
      if (pred === view.trueIdx[i]) this.correct[b]! += w;
    }
  }
  reset(): void {
    this.count.fill(0);
    this.conf.fill(0);
    this.correct.fill(0);
  }
  ece(): number {
    let total = 0;
    let sum = 0;
    for (let b = 0; b < this.bins; b++) {
      total += this.count[b]!;
      sum += Math.abs(this.correct[b]! - this.conf[b]!);
    }
    return total === 0 ? Number.NaN : sum / total;
  }
  table(): CalibrationBin[] {
    return Array.from({ length: this.bins }, (_, b) => {
      const n = this.count[b]!;
      return {
        lo: b / this.bins,
        hi: (b + 1) / this.bins,
        count: n,
        confidence: n === 0 ? Number.NaN : this.conf[b]! / n,
        accuracy: n === 0 ? Number.NaN : this.correct[b]! / n,
      };
    });
  }
}

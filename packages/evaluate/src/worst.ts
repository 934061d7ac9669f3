import { sampleLogLoss } from './metrics/probabilistic.js';
import { argmaxRow, type View } from './views.js';

/** A misclassified or barely-right sample (classification). */
export interface ClassWorstExample {
  /** Position of the sample in the evaluated stream (0-based, in batch order). */
  index: number;
  /** True label name (multilabel: the set labels joined by ", "). */
  label: string;
  /** Predicted label name. */
  pred: string;
  /** Probability given to the predicted class. */
  confidence: number;
  /** Probability given to the true class. */
  trueProb: number;
  /** Cross-entropy of this sample; the list is sorted by it, largest first. */
  loss: number;
  correct: boolean;
}

/** A regression sample with a large error. */
export interface RegressionWorstExample {
  index: number;
  label: number[];
  pred: number[];
  /** Mean absolute error over the outputs; the list is sorted by it, largest first. */
  error: number;
}

export type WorstExample = ClassWorstExample | RegressionWorstExample;

/**
 * Keeps the `max` samples with the highest loss (lowest probability of the true class: confidently
 * wrong first, then least-confident right). Ties keep the earlier sample.
 */
export class WorstTracker {
  private items: { score: number; index: number; example: WorstExample }[] = [];
  constructor(
    private readonly max: number,
    private readonly labels: string[] | undefined,
  ) {}

  add(view: View, offset: number): void {
    if (this.max <= 0) return;
    for (let i = 0; i < view.n; i++) {
      const index = offset + i;
      if (view.kind === 'regression') {
        const label = Array.from(view.yTrue.subarray(i * view.k, (i + 1) * view.k));
        const pred = Array.from(view.yPred.subarray(i * view.k, (i + 1) * view.k));
        const error = label.reduce((s, y, o) => s + Math.abs(y - pred[o]!), 0) / view.k;
        this.push(error, index, { index, label, pred, error });
        continue;
      }
      const loss = sampleLogLoss(view, i);
      const names = this.labels ?? [];
      if (view.kind === 'class') {
        const p = argmaxRow(view.probs, view.k, i);
        const t = view.trueIdx[i]!;
        const confidence = view.probs[i * view.k + p]!;
        const trueProb = view.probs[i * view.k + t]!;
        this.push(loss, index, { index, label: names[t] ?? String(t), pred: names[p] ?? String(p), confidence, trueProb, loss, correct: p === t });
      } else {
        const set = (pick: (c: number) => boolean) =>
          Array.from({ length: view.k }, (_, c) => c)
            .filter(pick)
            .map((c) => names[c] ?? String(c))
            .join(', ');
        const label = set((c) => view.truth[i * view.k + c]! >= 0.5);
        const pred = set((c) => view.probs[i * view.k + c]! > 0.5);
        this.push(loss, index, { index, label, pred, confidence: Number.NaN, trueProb: Math.exp(-loss), loss, correct: label === pred });
      }
    }
  }

  private push(score: number, index: number, example: WorstExample): void {
    this.items.push({ score, index, example });
    // Trim now and then, so memory stays O(max) however long the stream is.
    if (this.items.length >= this.max * 4 + 64) this.trim();
  }

  private trim(): void {
    this.items.sort((a, b) => b.score - a.score || a.index - b.index);
    this.items.length = Math.min(this.items.length, this.max);
  }

  result(): WorstExample[] {
    this.trim();
    return this.items.map((x) => x.example);
  }
}

import type { View } from '../views.js';
import { weightAt } from '../views.js';
import { EPS } from './probabilistic.js';

export type RegressionKind = 'mse' | 'rmse' | 'mae' | 'mape' | 'r2' | 'explainedVariance';

/**
 * Weighted running sums per output, enough for every regression metric in one pass. With several
 * outputs each metric is computed per output and averaged uniformly (scikit-learn's
 * multioutput='uniform_average'; so RMSE is the mean of per-output RMSEs).
 */
export class RegressionSums {
  private k = 0;
  private w = 0;
  private se = new Float64Array(0);
  private ae = new Float64Array(0);
  private ape = new Float64Array(0);
  private y = new Float64Array(0);
  private y2 = new Float64Array(0);
  private e = new Float64Array(0);

  add(view: View): void {
    if (view.kind !== 'regression') return;
    if (this.k !== view.k) this.init(view.k);
    const k = view.k;
    for (let i = 0; i < view.n; i++) {
      const w = weightAt(view, i);
      this.w += w;
      for (let o = 0; o < k; o++) {
        const t = view.yTrue[i * k + o]!;
        const err = t - view.yPred[i * k + o]!;
        this.se[o]! += w * err * err;
        this.ae[o]! += w * Math.abs(err);
        this.ape[o]! += (w * Math.abs(err)) / Math.max(Math.abs(t), EPS);
        this.y[o]! += w * t;
        this.y2[o]! += w * t * t;
        this.e[o]! += w * err;
      }
    }
  }

  private init(k: number): void {
    this.k = k;
    this.w = 0;
    this.se = new Float64Array(k);
    this.ae = new Float64Array(k);
    this.ape = new Float64Array(k);
    this.y = new Float64Array(k);
    this.y2 = new Float64Array(k);
    this.e = new Float64Array(k);
  }

  reset(): void {
    this.init(this.k);
  }

  /** One output's value of a metric. */
  perOutput(kind: RegressionKind, o: number): number {
    const w = this.w;
    const mse = this.se[o]! / w;
    const varY = this.y2[o]! / w - (this.y[o]! / w) ** 2;
    switch (kind) {
      case 'mse':
        return mse;
      case 'rmse':
        return Math.sqrt(mse);
      case 'mae':
        return this.ae[o]! / w;
      case 'mape':
        // In percent, as Keras' MeanAbsolutePercentageError; |y| is floored at 1e-7.
        return (100 * this.ape[o]!) / w;
      case 'r2':
        return ratioScore(mse, varY, this.y2[o]! / w);
      case 'explainedVariance': {
        const varE = mse - (this.e[o]! / w) ** 2;
        return ratioScore(varE, varY, this.y2[o]! / w);
      }
    }
  }

  value(kind: RegressionKind): number {
    if (this.w === 0 || this.k === 0) return Number.NaN;
    let s = 0;
    for (let o = 0; o < this.k; o++) s += this.perOutput(kind, o);
    return s / this.k;
  }
}

/**
 * 1 - num/den. A constant target (den = 0) gives 1 for a perfect fit and 0 otherwise, as scikit-learn's
 * force_finite=True. "Zero" is relative to mean(y^2), which absorbs the rounding of the one-pass variance.
 */
function ratioScore(num: number, den: number, meanY2: number): number {
  const tiny = 1e-12 * Math.max(meanY2, Number.MIN_VALUE);
  if (den <= tiny) return Math.abs(num) <= tiny ? 1 : 0;
  return 1 - num / den;
}

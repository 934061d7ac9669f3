import * as tf from '@tensorflow/tfjs-core';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';

/**
 * Regression targets are scaled for training (fitted on the training split, saved with the model) and
 * scaled back wherever a prediction leaves tfpipe. Without it the output layer starts near 0 and the
 * optimizer spends its budget walking the bias to the targets' mean (R² −0.63 where scaled targets give 0.40).
 */
export const TARGET_SCALING_MODES = ['standardize', 'minmax', 'log', 'none'] as const;
export type TargetScalingMode = (typeof TARGET_SCALING_MODES)[number];

export const targetScalingSchema = z
  .union([z.enum(TARGET_SCALING_MODES), z.record(z.string(), z.enum(TARGET_SCALING_MODES))])
  .default('standardize')
  .describe(
    'Regression only: how label columns are scaled for training (fitted on the training split, inverted in every prediction, metric and report): standardize (z-score), minmax ([0, 1]), log (log1p, then standardized; labels > -1), none. One mode, or one per label column.',
  );

/** Fitted scaling, one entry per model output: z = (f(y) − shift) / scale, f = log1p for `log`, else identity. */
export interface TargetScaling {
  modes: TargetScalingMode[];
  shift: number[];
  scale: number[];
}

/** Accumulates per-output statistics over the training labels (one pass). */
export class TargetStats {
  private readonly n: number[];
  private readonly mean: number[];
  private readonly m2: number[];
  private readonly min: number[];
  private readonly max: number[];

  constructor(private readonly modes: readonly TargetScalingMode[]) {
    const w = modes.length;
    this.n = new Array(w).fill(0);
    this.mean = new Array(w).fill(0);
    this.m2 = new Array(w).fill(0);
    this.min = new Array(w).fill(Number.POSITIVE_INFINITY);
    this.max = new Array(w).fill(Number.NEGATIVE_INFINITY);
  }

  /** One label value of output `i` (Welford's update, on log1p(y) for `log`). */
  update(i: number, y: number, column: string): void {
    const mode = this.modes[i]!;
    if (mode === 'none') return;
    if (mode === 'log' && !(y > -1)) {
      throw new TfpipeError('E_DATA', `targetScaling log: label column "${column}" has ${y}; log1p needs values above -1`, {
        issues: [{ path: ['data', 'targetScaling'], message: 'a label value log1p cannot take', received: y, expected: 'values > -1, or another mode' }],
      });
    }
    const v = mode === 'log' ? Math.log1p(y) : y;
    const k = ++this.n[i]!;
    const d = v - this.mean[i]!;
    this.mean[i]! += d / k;
    this.m2[i]! += d * (v - this.mean[i]!);
    if (v < this.min[i]!) this.min[i] = v;
    if (v > this.max[i]!) this.max[i] = v;
  }

  finish(): TargetScaling {
    const shift: number[] = [];
    const scale: number[] = [];
    this.modes.forEach((mode, i) => {
      const n = this.n[i]!;
      if (mode === 'none' || n === 0) {
        shift.push(0);
        scale.push(1);
      } else if (mode === 'minmax') {
        shift.push(this.min[i]!);
        scale.push(this.max[i]! > this.min[i]! ? this.max[i]! - this.min[i]! : 1);
      } else {
        // Population std (as scikit-learn's StandardScaler); a constant column keeps scale 1.
        const std = Math.sqrt(this.m2[i]! / n);
        shift.push(this.mean[i]!);
        scale.push(std > 0 ? std : 1);
      }
    });
    return { modes: [...this.modes], shift, scale };
  }
}

/** y (original units) → z (training units), for output i. */
export function scaleTarget(s: TargetScaling, i: number, y: number): number {
  const v = s.modes[i] === 'log' ? Math.log1p(y) : y;
  return (v - s.shift[i]!) / s.scale[i]!;
}

/** z (model output) → y (original units), for output i. */
export function unscaleTarget(s: TargetScaling, i: number, z: number): number {
  const v = z * s.scale[i]! + s.shift[i]!;
  return s.modes[i] === 'log' ? Math.expm1(v) : v;
}

/** True when the scaling changes nothing. */
export function isIdentityScaling(s: TargetScaling | undefined): boolean {
  return !s || s.modes.every((m, i) => m === 'none' || (s.shift[i] === 0 && s.scale[i] === 1 && m !== 'log'));
}

/** Model outputs [n, k] → original units, as a new tensor (the caller disposes it). */
export function unscaleTensor(s: TargetScaling | undefined, t: tf.Tensor): tf.Tensor {
  if (isIdentityScaling(s)) return tf.clone(t);
  const sc = s!;
  return tf.tidy(() => {
    const lin = tf.add(tf.mul(t, tf.tensor1d(sc.scale)), tf.tensor1d(sc.shift));
    if (!sc.modes.includes('log')) return lin;
    const mask = tf.tensor1d(sc.modes.map((m) => (m === 'log' ? 1 : 0)), 'bool');
    return tf.where(tf.broadcastTo(mask, lin.shape), tf.sub(tf.exp(lin), 1), lin);
  });
}

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, TfpipeError } from '@tfpipe/core';
import { disposeBatches } from './batch.js';

export interface RidgeResult {
  /** Training rows used. */
  rows: number;
  features: number;
  /** Mean squared error on the training rows (in the targets' training units), plus l2·||w||²: the gradient path's objective. */
  loss: number;
}

/** Solves A x = b for symmetric positive definite A (d×d, row-major) by Cholesky; columns of B at once. */
function choleskySolve(A: Float64Array, B: Float64Array, d: number, k: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * d + j]!;
      for (let p = 0; p < j; p++) s -= L[i * d + p]! * L[j * d + p]!;
      if (i === j) {
        if (!(s > 0)) throw new TfpipeError('E_TRAIN', 'the exact linear solver met a singular system (collinear features and no l2): add regularization.l2 > 0');
        L[i * d + i] = Math.sqrt(s);
      } else L[i * d + j] = s / L[j * d + j]!;
    }
  }
  const X = new Float64Array(d * k);
  for (let c = 0; c < k; c++) {
    const y = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = B[i * k + c]!;
      for (let p = 0; p < i; p++) s -= L[i * d + p]! * y[p]!;
      y[i] = s / L[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let p = i + 1; p < d; p++) s -= L[p * d + i]! * X[p * k + c]!;
      X[i * k + c] = s / L[i * d + i]!;
    }
  }
  return X;
}

/**
 * Fits a one-Dense-layer linear model exactly: the minimizer of mean squared error + l2·||kernel||² over the
 * training batches (the objective the gradient path minimizes, intercept not penalized), i.e. scikit-learn's
 * Ridge with alpha = rows · l2. Sums XᵀX and Xᵀy in float64 in one pass, then Cholesky. Sets the weights.
 */
export async function solveRidge(model: tfl.LayersModel, batches: AsyncIterable<Batch>, options: { l2: number }): Promise<RidgeResult> {
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  if (dense.length !== 1) throw new TfpipeError('E_MODEL', `the exact solver needs a model with one Dense layer; this one has ${dense.length}`);
  const layer = dense[0]!;
  const [kernel, bias] = layer.getWeights();
  const d = kernel!.shape[0]!;
  const k = kernel!.shape[1]!;
  let n = 0;
  const sx = new Float64Array(d);
  const sy = new Float64Array(k);
  const xx = new Float64Array(d * d);
  const xy = new Float64Array(d * k);
  const yy = new Float64Array(k);
  for await (const batch of batches) {
    try {
      if (!(batch.xs instanceof tf.Tensor) || !(batch.ys instanceof tf.Tensor)) throw new TfpipeError('E_MODEL', 'the exact solver takes one input and one output');
      const m = batch.xs.shape[0]!;
      const x = batch.xs.dataSync();
      const y = batch.ys.dataSync();
      for (let r = 0; r < m; r++) {
        const xo = r * d;
        const yo = r * k;
        for (let i = 0; i < d; i++) {
          const xi = x[xo + i]!;
          sx[i]! += xi;
          for (let j = 0; j <= i; j++) xx[i * d + j]! += xi * x[xo + j]!;
          for (let c = 0; c < k; c++) xy[i * k + c]! += xi * y[yo + c]!;
        }
        for (let c = 0; c < k; c++) {
          sy[c]! += y[yo + c]!;
          yy[c]! += y[yo + c]! * y[yo + c]!;
        }
      }
      n += m;
    } finally {
      disposeBatches(batch);
    }
  }
  if (n === 0) throw new TfpipeError('E_DATA', 'the exact solver got no training rows');
  // Centered sums (the intercept is fitted, not penalized): Sxx − n·x̄x̄ᵀ + λI, Sxy − n·x̄ȳᵀ; λ = n·l2.
  const lambda = n * options.l2;
  const A = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      const v = xx[i * d + j]! - (sx[i]! * sx[j]!) / n + (i === j ? lambda : 0);
      A[i * d + j] = v;
      A[j * d + i] = v;
    }
  const B = new Float64Array(d * k);
  for (let i = 0; i < d; i++) for (let c = 0; c < k; c++) B[i * k + c] = xy[i * k + c]! - (sx[i]! * sy[c]!) / n;
  const W = choleskySolve(A, B, d, k);
  const b = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = sy[c]! / n;
    for (let i = 0; i < d; i++) s -= (sx[i]! / n) * W[i * k + c]!;
    b[c] = s;
  }
  // Training objective: SSE = Σy² − 2 wᵀXᵀy … computed from the sums, per output, over the centered system.
  let sse = 0;
  let penalty = 0;
  for (let c = 0; c < k; c++) {
    let wAw = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) wAw += W[i * k + c]! * (A[i * d + j]! - (i === j ? lambda : 0)) * W[j * k + c]!;
    let wB = 0;
    for (let i = 0; i < d; i++) wB += W[i * k + c]! * B[i * k + c]!;
    const syyc = yy[c]! - (sy[c]! * sy[c]!) / n;
    sse += syyc - 2 * wB + wAw;
    for (let i = 0; i < d; i++) penalty += W[i * k + c]! ** 2;
  }
  const newKernel = tf.tensor2d(Float32Array.from(W), [d, k]);
  const newBias = bias ? tf.tensor1d(Float32Array.from(b)) : undefined;
  layer.setWeights(newBias ? [newKernel, newBias] : [newKernel]);
  // getWeights() gives the variables themselves: only the new tensors are ours to free.
  tf.dispose([newKernel, ...(newBias ? [newBias] : [])]);
  return { rows: n, features: d, loss: sse / (n * k) + options.l2 * penalty };
}

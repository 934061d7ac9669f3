import * as tf from '@tensorflow/tfjs-core';
import { type Batch, type Tensors, hashSeed } from '@tfpipe/core';
import { batchSize } from '../batch.js';

/** What a DP-SGD step needs: the loss of a slice of the batch, computed with training=true. */
export type SliceLoss = (slice: Batch) => tf.Scalar;

export interface DpSgdStepOptions {
  /** Every per-microbatch gradient (all trainable weights together) is scaled down to this L2 norm. */
  l2NormClip: number;
  /** Gaussian noise of std noiseMultiplier × l2NormClip is added to the sum of clipped gradients. */
  noiseMultiplier: number;
  /**
   * Microbatches per batch (TensorFlow Privacy's num_microbatches): each one's mean gradient is clipped.
   * Default (undefined) or ≥ the batch size: one example per microbatch (per-example clipping).
   */
  microbatches?: number;
  /**
   * The sum of clipped, noised gradients is divided by this. Default: the number of microbatches. Under
   * Poisson sampling pass the expected batch size (as Opacus does), so the divisor does not depend on the data.
   */
  denominator?: number;
  /** Seed of the run; the noise of step `step` is a pure function of (seed, step, weight index). */
  seed: number;
  step: number;
}

export interface DpSgdStepResult {
  /** Mean (un-noised) loss over the batch, for logging. The caller disposes it. */
  loss: tf.Scalar;
  /** The private gradient of each variable that the loss reaches, by variable name. The caller disposes them. */
  grads: tf.NamedTensorMap;
  /** How many microbatch gradients were longer than l2NormClip (and so were scaled down). The caller disposes it. */
  clipped: tf.Scalar;
  microbatches: number;
}

function sliceTensors(t: Tensors, begin: number, size: number): Tensors {
  if (t instanceof tf.Tensor) return tf.slice(t, begin, size);
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, tf.slice(v, begin, size)]));
}

function sliceBatch(b: Batch, begin: number, size: number): Batch {
  const out: Batch = { xs: sliceTensors(b.xs, begin, size), ys: sliceTensors(b.ys, begin, size) };
  if (b.sampleWeight) out.sampleWeight = tf.slice(b.sampleWeight, begin, size);
  return out;
}

/** [begin, size] of k near-equal contiguous slices of n rows (the first n mod k one row longer). */
export function microbatchBounds(n: number, k: number): Array<[number, number]> {
  const m = Math.max(1, Math.min(n, Math.floor(k)));
  const base = Math.floor(n / m);
  const extra = n % m;
  const out: Array<[number, number]> = [];
  let begin = 0;
  for (let i = 0; i < m; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push([begin, size]);
    begin += size;
  }
  return out;
}

/**
 * One differentially private gradient (Abadi et al. 2016, as TensorFlow Privacy's DPKerasSGDOptimizer
 * computes it): the batch is cut into microbatches; each microbatch's gradient over all trainable weights
 * together is clipped to `l2NormClip`; the clipped gradients are summed; N(0, (noiseMultiplier·l2NormClip)²)
 * noise is added to every element; the result is divided by `denominator`. Works for any model and
 * loss: gradients come from tf.variableGrads, one microbatch at a time.
 */
export function dpSgdGradients(vars: tf.Variable[], batch: Batch, lossOf: SliceLoss, options: DpSgdStepOptions): DpSgdStepResult {
  const n = batchSize(batch);
  const bounds = microbatchBounds(n, options.microbatches ?? n);
  const C = options.l2NormClip;
  let sums: (tf.Tensor | undefined)[] = vars.map(() => undefined);
  let lossSum = tf.scalar(0);
  let clippedCount: tf.Tensor = tf.scalar(0);
  for (const [begin, size] of bounds) {
    const slice = sliceBatch(batch, begin, size);
    try {
      const { value, grads } = tf.variableGrads(() => lossOf(slice), vars);
      try {
        const present = vars.map((v) => grads[v.name]);
        // Scale = min(1, C / norm), computed on the device (no read back per microbatch); an infinite clip
        // leaves the gradient as it is.
        const next = tf.tidy(() => {
          const norm = tf.sqrt(tf.addN(present.filter((g): g is tf.Tensor => g !== undefined).map((g) => tf.sum(tf.square(g)))));
          const scale = Number.isFinite(C) ? tf.minimum(1, tf.div(C, tf.maximum(norm, 1e-30))) : undefined;
          const nextClipped = scale ? tf.add(clippedCount, tf.cast(tf.less(scale, 1), 'float32')) : tf.clone(clippedCount);
          const sumsNext = present.map((g, i) => {
            if (g === undefined) return sums[i] ? tf.clone(sums[i]!) : undefined;
            const term = scale ? tf.mul(g, scale) : g;
            return sums[i] ? tf.add(sums[i]!, term) : tf.clone(term);
          });
          return { sumsNext, nextClipped };
        });
        tf.dispose(sums.filter((s): s is tf.Tensor => s !== undefined));
        clippedCount.dispose();
        sums = next.sumsNext;
        clippedCount = next.nextClipped;
        const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(value, size)));
        lossSum.dispose();
        lossSum = nextLoss as tf.Scalar;
      } finally {
        value.dispose();
        tf.dispose(grads);
      }
    } finally {
      tf.dispose([slice.xs, slice.ys, slice.sampleWeight].flatMap((t) => (t === undefined ? [] : t instanceof tf.Tensor ? [t] : Object.values(t))));
    }
  }
  const denominator = options.denominator ?? bounds.length;
  const std = options.noiseMultiplier * C;
  const grads: tf.NamedTensorMap = {};
  tf.tidy(() => {
    vars.forEach((v, i) => {
      const s = sums[i];
      if (s === undefined) return;
      const noised =
        std > 0 && Number.isFinite(std)
          ? tf.add(s, tf.randomNormal(s.shape, 0, std, 'float32', hashSeed(`dp-sgd:${options.seed}:${options.step}:${i}`)))
          : s;
      grads[v.name] = tf.keep(tf.div(noised, denominator));
    });
  });
  tf.dispose(sums.filter((s): s is tf.Tensor => s !== undefined));
  const loss = tf.tidy(() => tf.div(lossSum, Math.max(1, n)) as tf.Scalar);
  lossSum.dispose();
  return { loss, grads, clipped: clippedCount as tf.Scalar, microbatches: bounds.length };
}

/** Per-example gradient L2 norms (all trainable weights together), for tests and diagnostics. */
export function perExampleGradientNorms(vars: tf.Variable[], batch: Batch, lossOf: SliceLoss): number[] {
  const out: number[] = [];
  for (const [begin, size] of microbatchBounds(batchSize(batch), Number.POSITIVE_INFINITY)) {
    const slice = sliceBatch(batch, begin, size);
    const { value, grads } = tf.variableGrads(() => lossOf(slice), vars);
    const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))));
    out.push(norm.dataSync()[0]!);
    tf.dispose([value, norm, slice.xs, slice.ys, ...(slice.sampleWeight ? [slice.sampleWeight] : [])].flatMap((t) => (t instanceof tf.Tensor ? [t] : Object.values(t))));
    tf.dispose(grads);
  }
  return out;
}



import * as tf from '@tensorflow/tfjs-core';
import { TfpipeError } from '@tfpipe/core';

/** What "absence of signal" means for integrated gradients. */
export const BASELINE_KINDS = ['zeros', 'mean', 'blur'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

export interface BaselineOptions {
  /** zeros (default), the training mean (give `mean`), or a Gaussian blur of the image itself. */
  baseline?: BaselineKind;
  /** Per-sample mean of the training inputs, per input name (for `baseline: mean`); see `trainingMean`. */
  mean?: Record<string, tf.Tensor> | tf.Tensor;
  /** Standard deviation in pixels of the blur (for `baseline: blur`). */
  blurSigma?: number;
}

/** The baseline for float input `name` with value `x` ([batch, ...]). */
export function baselineFor(name: string, x: tf.Tensor, opts: BaselineOptions): tf.Tensor {
  const kind = opts.baseline ?? 'zeros';
  if (kind === 'zeros') return tf.zerosLike(x);
  if (kind === 'mean') {
    const mean = opts.mean instanceof tf.Tensor ? opts.mean : opts.mean?.[name];
    if (!mean) {
      throw new TfpipeError('E_USAGE', `explain: baseline "mean" needs the training mean of input "${name}"`, {
        hint: 'pass mean (trainingMean(batches) computes it)',
      });
    }
    const perSample = x.shape.slice(1);
    const shape = mean.shape.length === perSample.length + 1 ? mean.shape.slice(1) : mean.shape;
    if (shape.join(',') !== perSample.join(',')) {
      throw new TfpipeError(
        'E_USAGE',
        `explain: mean of input "${name}" has shape [${mean.shape}]; expected [${perSample}] (one sample)`,
      );
    }
    return tf.tidy(() => tf.add(tf.zerosLike(x), tf.reshape(mean, [1, ...perSample])));
  }
  return gaussianBlur(x, opts.blurSigma ?? 5);
}

/** Blurs images [batch, h, w, c] with a Gaussian of `sigma` pixels; borders are renormalized, not darkened. */
export function gaussianBlur(x: tf.Tensor, sigma: number): tf.Tensor {
  if (x.rank !== 4) {
    throw new TfpipeError('E_USAGE', `explain: baseline "blur" needs images [batch, h, w, c]; received shape [${x.shape}]`);
  }
  if (!(sigma > 0)) throw new TfpipeError('E_USAGE', `explain: blurSigma received ${sigma}; expected a number > 0`);
  return tf.tidy(() => {
    const radius = Math.max(1, Math.ceil(3 * sigma));
    const taps: number[] = [];
    for (let i = -radius; i <= radius; i++) taps.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
    const sum = taps.reduce((a, b) => a + b, 0);
    const k = taps.map((v) => v / sum);
    const c = x.shape[3]!;
    const size = k.length;
    const blur = (img: tf.Tensor4D) => {
      const h = tf.tile(tf.reshape(tf.tensor1d(k), [1, size, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
      const v = tf.tile(tf.reshape(tf.tensor1d(k), [size, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
      return tf.depthwiseConv2d(tf.depthwiseConv2d(img, h, 1, 'same'), v, 1, 'same');
    };
    const x4 = tf.cast(x, 'float32') as tf.Tensor4D;
    const ones = tf.onesLike(tf.slice(x4, [0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
    return tf.div(blur(x4), blur(ones));
  });
}

/** Per-sample mean of the inputs over batches (for `baseline: mean`), per input name. Nothing is kept but the result. */
export async function trainingMean(
  batches: AsyncIterable<Record<string, tf.Tensor> | tf.Tensor> | Iterable<Record<string, tf.Tensor> | tf.Tensor>,
  name = 'input',
): Promise<Record<string, tf.Tensor>> {
  const sums: Record<string, tf.Tensor> = {};
  let count = 0;
  for await (const b of batches as AsyncIterable<Record<string, tf.Tensor> | tf.Tensor>) {
    const rec = b instanceof tf.Tensor ? { [name]: b } : b;
    let n = 0;
    for (const [k, t] of Object.entries(rec)) {
      n = t.shape[0]!;
      const s = tf.tidy(() => tf.sum(tf.cast(t, 'float32'), 0));
      const prev = sums[k];
      sums[k] = prev ? tf.tidy(() => tf.add(prev, s)) : s;
      if (prev) {
        prev.dispose();
        s.dispose();
      }
    }
    count += n;
  }
  if (count === 0) throw new TfpipeError('E_USAGE', 'explain: trainingMean received no rows');
  const out: Record<string, tf.Tensor> = {};
  for (const [k, s] of Object.entries(sums)) {
    out[k] = tf.tidy(() => tf.div(s, count));
    s.dispose();
  }
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import { TfpipeError } from '@tfpipe/core';
import {
  type Explainable,
  type Forward,
  forwardOf,
  type Inputs,
  isIntInput,
  namedInputs,
  pickTarget,
  resolveTargets,
  type TargetOptions,
} from './forward.js';

export interface SaliencyOptions extends TargetOptions {
  /** |∂f/∂x| (default, Simonyan et al.) or the signed gradient. */
  abs?: boolean;
}

export interface SmoothGradOptions extends SaliencyOptions {
  /** Noisy copies per example. */
  samples?: number;
  /** Noise standard deviation as a fraction of each example's value range (max − min), as in the SmoothGrad paper. */
  noiseLevel?: number;
  /** Seed of the noise: same seed, same attributions. */
  seed?: number;
}

export interface GradientMap {
  /** Per input name, shape of the input; the caller disposes them. */
  attributions: Record<string, tf.Tensor>;
  targets: number[];
}

function floatInputs(inputs: Record<string, tf.Tensor>, method: string): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (isIntInput(t)) {
      throw new TfpipeError('E_USAGE', `explain: ${method} needs float inputs; input "${name}" holds token ids`, {
        hint: 'use integratedGradients, which explains token ids through their embedding',
      });
    }
  }
}

function gradients(forward: Forward, inputs: Record<string, tf.Tensor>, targets: number[]): Record<string, tf.Tensor> {
  const names = Object.keys(inputs);
  return tf.tidy(() => {
    const g = tf.grads((...values: tf.Tensor[]) => {
      const fed = Object.fromEntries(names.map((n, i) => [n, values[i]!]));
      return tf.sum(pickTarget(forward.run(fed), targets));
    })(names.map((n) => inputs[n]!));
    return Object.fromEntries(names.map((n, i) => [n, g[i]!]));
  });
}

/** Vanilla gradient saliency: ∂f_target/∂x per input (absolute value by default). */
export function saliency(model: Explainable, x: Inputs, options: SaliencyOptions = {}): GradientMap {
  const forward = forwardOf(model, options.output, options.logits);
  const inputs = namedInputs(forward, x);
  floatInputs(inputs, 'saliency');
  const targets = resolveTargets(forward, inputs, options.target);
  const g = gradients(forward, inputs, targets);
  if (options.abs === false) return { attributions: g, targets };
  const attributions = Object.fromEntries(Object.entries(g).map(([n, t]) => [n, tf.abs(t)]));
  tf.dispose(Object.values(g));
  return { attributions, targets };
}

/**
 * SmoothGrad (Smilkov et al. 2017): the mean gradient over noisy copies x + N(0, σ²), σ = noiseLevel · (max − min)
 * of each example. The absolute value is taken per sample before averaging unless `abs: false`.
 */
export function smoothGrad(model: Explainable, x: Inputs, options: SmoothGradOptions = {}): GradientMap {
  const forward = forwardOf(model, options.output, options.logits);
  const inputs = namedInputs(forward, x);
  floatInputs(inputs, 'smoothGrad');
  const targets = resolveTargets(forward, inputs, options.target);
  const samples = options.samples ?? 25;
  const level = options.noiseLevel ?? 0.15;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new TfpipeError('E_USAGE', `explain: samples received ${samples}; expected an integer >= 1`);
  }
  if (!(level >= 0)) throw new TfpipeError('E_USAGE', `explain: noiseLevel received ${level}; expected a number >= 0`);
  const seed = options.seed ?? 0;
  const names = Object.keys(inputs);
  // σ per example and input: noiseLevel × (max − min) over the example's values.
  const sigmas = tf.tidy(() =>
    Object.fromEntries(
      names.map((n) => {
        const t = inputs[n]!;
        const flat = tf.reshape(t, [t.shape[0]!, -1]);
        const range = tf.sub(tf.max(flat, 1), tf.min(flat, 1));
        return [n, tf.reshape(tf.mul(range, level), [t.shape[0]!, ...new Array(t.rank - 1).fill(1)])];
      }),
    ),
  );
  let sums = Object.fromEntries(names.map((n) => [n, tf.zerosLike(inputs[n]!)]));
  for (let s = 0; s < samples; s++) {
    const noisy = tf.tidy(() =>
      Object.fromEntries(
        names.map((n, j) => {
          const t = inputs[n]!;
          const noise = tf.randomNormal(t.shape, 0, 1, 'float32', seed * 7919 + s * 131 + j);
          return [n, tf.add(t, tf.mul(noise, sigmas[n]!))];
        }),
      ),
    );
    const g = gradients(forward, noisy, targets);
    const next = tf.tidy(() =>
      Object.fromEntries(
        names.map((n) => [n, tf.add(sums[n]!, options.abs === false ? g[n]! : tf.abs(g[n]!))]),
      ),
    );
    for (const t of [...Object.values(sums), ...Object.values(noisy), ...Object.values(g)]) t.dispose();
    sums = next;
  }
  tf.dispose(Object.values(sigmas));
  const attributions = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.div(sums[n]!, samples)])));
  tf.dispose(Object.values(sums));
  return { attributions, targets };
}

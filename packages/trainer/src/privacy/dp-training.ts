import * as tf from '@tensorflow/tfjs-core';
import { type Logger, TfpipeError } from '@tfpipe/core';
import { modelInputs } from '../batch.js';
import type { GradientTransform } from '../gradients.js';
import type { Callback, CallbackContext } from '../types.js';
import { dpSgdEpsilon, dpSgdSteps, noiseForEpsilon } from './accountant.js';
import { dpSgdGradients } from './dp-sgd.js';
import type { PrivacyConfig } from './schema.js';

export interface DpTraining {
  noiseMultiplier: number;
  /** Sampling rate q = batchSize / N. */
  samplingRate: number;
  /** ε after `steps` optimizer steps. */
  epsilonAt(steps: number): number;
  gradients: GradientTransform;
  /** Adds `epsilon` to each epoch's log (before metrics.jsonl is written) and keeps the budget. */
  accountant: Callback;
}

/**
 * DP-SGD for a `train.privacy` section: the noise multiplier (given, or solved from targetEpsilon for
 * train.epochs), the gradient transform (per-example clipping + seeded noise, divided by the expected batch
 * size) and the accountant callback. `datasetSize` is N, the training examples.
 */
export function dpTraining(privacy: PrivacyConfig, opts: { datasetSize: number; batchSize: number; epochs: number; seed: number; logger: Logger }): DpTraining {
  const N = opts.datasetSize;
  if (!(N > 0)) throw new TfpipeError('E_CONFIG', 'train.privacy needs the number of training examples', { path: ['train', 'privacy'] });
  const q = Math.min(1, opts.batchSize / N);
  const base = { datasetSize: N, batchSize: opts.batchSize, delta: privacy.delta, conversion: privacy.conversion };
  const noiseMultiplier = privacy.noiseMultiplier ?? noiseForEpsilon(privacy.targetEpsilon!, dpSgdSteps(opts.epochs, N, opts.batchSize), base);
  const epsilonAt = (steps: number) => dpSgdEpsilon(steps, { ...base, noiseMultiplier }).epsilon;
  opts.logger.info(
    `DP-SGD: clip ${privacy.l2NormClip}, noise multiplier ${noiseMultiplier.toFixed(4)}${privacy.targetEpsilon ? ` (solved for epsilon ${privacy.targetEpsilon})` : ''}, q = ${q.toPrecision(4)} (${privacy.sampling} sampling), delta ${privacy.delta}; epsilon after ${opts.epochs} epoch(s): ${epsilonAt(dpSgdSteps(opts.epochs, N, opts.batchSize)).toFixed(3)}`,
  );
  if (privacy.delta >= 1 / N) opts.logger.warn(`train.privacy.delta ${privacy.delta} is not below 1 / N = ${(1 / N).toPrecision(3)}: the guarantee is weak`);
  const gradients: GradientTransform = (step) => {
    const r = dpSgdGradients([...step.vars], step.batch, (slice) => step.loss(slice), {
      l2NormClip: privacy.l2NormClip,
      noiseMultiplier,
      ...(privacy.microbatches ? { microbatches: privacy.microbatches } : {}),
      // Poisson batches vary in size: divide by the expected size, which does not depend on the data.
      ...(privacy.sampling === 'poisson' ? { denominator: opts.batchSize } : {}),
      seed: opts.seed,
      step: step.step,
    });
    r.clipped.dispose();
    if (!step.keepPredictions) return { loss: r.loss, grads: r.grads };
    const predictions = tf.tidy(() => {
      const out = step.model.apply(modelInputs(step.model, step.batch.xs), { training: false }) as tf.Tensor | tf.Tensor[];
      return Array.isArray(out) ? out[0]! : out;
    });
    return { loss: r.loss, grads: r.grads, predictions };
  };
  const accountant: Callback = {
    name: 'privacy-accountant',
    onBatchBegin(ctx: CallbackContext) {
      if (privacy.maxEpsilon !== undefined && epsilonAt(ctx.step + 1) > privacy.maxEpsilon) {
        ctx.stopTraining(`privacy budget: one more step would take epsilon to ${epsilonAt(ctx.step + 1).toFixed(4)}, above train.privacy.maxEpsilon ${privacy.maxEpsilon}`, 'early-stopping');
      }
    },
    onEpochEnd(ctx: CallbackContext) {
      ctx.logs.epsilon = epsilonAt(ctx.step);
    },
  };
  return { noiseMultiplier, samplingRate: q, epsilonAt, gradients, accountant };
}

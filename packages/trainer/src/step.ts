import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, StreamingMetric } from '@tfpipe/core';
import { batchSize, disposeBatches, modelInputs, modelTargets } from './batch.js';
import type { StepGradients } from './gradients.js';
import type { Objective } from './objective.js';
import type { TrainOptimizer } from './optimizers.js';
import type { TrainConfig } from './schema.js';

/** Clips by value, then by global norm; returns new tensors (the caller's tidy owns them). */
export function clipGradients(grads: tf.Tensor[], clip: TrainConfig['gradientClip']): tf.Tensor[] {
  let g = grads;
  if (clip?.value !== undefined) {
    const v = clip.value;
    g = g.map((t) => tf.clipByValue(t, -v, v));
  }
  if (clip?.norm !== undefined && g.length > 0) {
    const sq = tf.addN(g.map((t) => tf.sum(tf.square(t))));
    const norm = tf.sqrt(sq);
    const scale = tf.div(clip.norm, tf.maximum(norm, clip.norm));
    g = g.map((t) => tf.mul(t, scale));
  }
  return g;
}

/**
 * Applies a step's gradients: those of variables the loss reaches (the optimizer skips the others),
 * clipped, then the optimizer update. Disposes the gradients.
 */
export function applyGradients(
  vars: readonly tf.Variable[],
  grads: tf.NamedTensorMap,
  optimizer: TrainOptimizer,
  clip: TrainConfig['gradientClip'],
): void {
  try {
    tf.tidy(() => {
      const present = vars.filter((v) => grads[v.name] !== undefined);
      optimizer.apply(present, clipGradients(present.map((v) => grads[v.name]!), clip));
    });
  } finally {
    tf.dispose(grads);
  }
}

/** What data-parallel training needs from `createDataParallel` (@tfpipe/backend-wasm). */
export interface GradientWorkers {
  readonly workers: number;
  computeGradients(
    xs: Batch['xs'],
    ys: Batch['ys'],
    sampleWeight?: tf.Tensor,
    options?: { predictions?: boolean },
  ): Promise<{ loss: tf.Scalar; grads: tf.NamedTensorMap; predictions?: tf.Tensor }>;
  dispose(): Promise<void>;
}

/** A step's gradients from worker threads (shards of the batch averaged by size). */
export async function parallelGradients(workers: GradientWorkers, batch: Batch, keepPredictions: boolean): Promise<StepGradients> {
  const { loss, grads, predictions } = await workers.computeGradients(batch.xs, batch.ys, batch.sampleWeight, { predictions: keepPredictions });
  return predictions ? { loss, grads, predictions } : { loss, grads };
}

/** Feeds a batch's first output to streaming metrics (metrics read the tensors themselves). */
export function updateMetrics(metrics: readonly StreamingMetric[], objective: Objective, batch: Batch, pred: tf.Tensor): void {
  if (metrics.length === 0) return;
  const yTrue = modelTargets(objective.names, batch.ys)[0]!;
  for (const m of metrics) m.update(yTrue, pred, batch.sampleWeight);
}

/**
 * Loss (sample weights, no class weights, regularization added once as Keras does) and metrics over a
 * whole validation stream, with training=false. One read of the loss at the end.
 */
export async function evaluateStream(
  model: tfl.LayersModel,
  data: AsyncIterable<Batch>,
  objective: Objective,
  metrics: readonly StreamingMetric[],
): Promise<Record<string, number>> {
  for (const m of metrics) m.reset();
  let sum: tf.Scalar = tf.scalar(0);
  let count = 0;
  try {
    for await (const batch of data) {
      try {
        const n = batchSize(batch);
        const [next, pred] = tf.tidy(() => {
          const out = model.apply(modelInputs(model, batch.xs), { training: false }) as tf.Tensor | tf.Tensor[];
          const preds = Array.isArray(out) ? out : [out];
          const l = objective.dataLoss(preds, modelTargets(objective.names, batch.ys), batch.sampleWeight, false);
          return [tf.add(sum, tf.mul(l, n)) as tf.Scalar, preds[0]!];
        });
        sum.dispose();
        sum = next;
        updateMetrics(metrics, objective, batch, pred);
        pred.dispose();
        count += n;
      } finally {
        disposeBatches(batch);
      }
    }
    const reg = objective.regularization();
    const [s, r] = [(await sum.data())[0]!, (await reg.data())[0]!];
    reg.dispose();
    const out: Record<string, number> = { loss: count > 0 ? s / count + r : Number.NaN };
    for (const m of metrics) out[m.name] = m.result();
    return out;
  } finally {
    sum.dispose();
  }
}

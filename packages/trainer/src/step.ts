import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, StreamingMetric } from '@tfpipe/core';
import { batchSize, disposeBatches, modelInputs, modelTargets } from './batch.js';
import type { Objective } from './objective.js';
import type { TrainOptimizer } from './optimizers.js';
import type { TrainConfig } from './schema.js';

function outputsOf(model: tfl.LayersModel, batch: Batch, training: boolean): tf.Tensor[] {
  const out = model.apply(modelInputs(model, batch.xs), { training }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

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
 * One optimizer step: forward with training=true (dropout, batch norm), loss with regularization,
 * gradients of the trainable weights, clipping, update. Returns the loss tensor (read later,
 * asynchronously) and, when asked, the predictions for training metrics. No data is read here.
 */
export function trainStep(
  model: tfl.LayersModel,
  vars: tf.Variable[],
  batch: Batch,
  objective: Objective,
  optimizer: TrainOptimizer,
  clip: TrainConfig['gradientClip'],
  keepPredictions: boolean,
): { loss: tf.Scalar; predictions?: tf.Tensor } {
  let predictions: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const preds = outputsOf(model, batch, true);
    if (keepPredictions) predictions = tf.keep(preds[0]!);
    return objective.total(preds, modelTargets(objective.names, batch.ys), batch.sampleWeight);
  }, vars);
  tf.tidy(() => {
    // Variables the loss does not reach get no gradient; the optimizer skips them.
    const present = vars.filter((v) => grads[v.name] !== undefined);
    const clipped = clipGradients(
      present.map((v) => grads[v.name]!),
      clip,
    );
    optimizer.apply(present, clipped);
  });
  tf.dispose(grads);
  return predictions ? { loss: value, predictions } : { loss: value };
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

/** One optimizer step whose gradients come from worker threads (shards of the batch averaged by size). */
export async function parallelStep(
  workers: GradientWorkers,
  vars: tf.Variable[],
  batch: Batch,
  optimizer: TrainOptimizer,
  clip: TrainConfig['gradientClip'],
  keepPredictions: boolean,
): Promise<{ loss: tf.Scalar; predictions?: tf.Tensor }> {
  const { loss, grads, predictions } = await workers.computeGradients(batch.xs, batch.ys, batch.sampleWeight, { predictions: keepPredictions });
  tf.tidy(() => {
    const present = vars.filter((v) => grads[v.name] !== undefined);
    optimizer.apply(present, clipGradients(present.map((v) => grads[v.name]!), clip));
  });
  tf.dispose(grads);
  return predictions ? { loss, predictions } : { loss };
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
          const preds = outputsOf(model, batch, false);
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

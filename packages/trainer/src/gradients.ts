import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from '@tfpipe/core';
import { modelInputs, modelTargets } from './batch.js';
import type { Objective } from './objective.js';

/** What a step's gradients are made of: the loss value, one gradient per variable name, optionally the predictions. */
export interface StepGradients {
  /** The batch loss (what progress, metrics.jsonl and the NaN guard see). */
  loss: tf.Scalar;
  /** Gradient per trainable variable name; a missing one means "no update" for that variable. */
  grads: tf.NamedTensorMap;
  /** The first output's predictions on the batch, for training metrics (when `keepPredictions`). */
  predictions?: tf.Tensor;
}

/** What a gradient transform receives, once per batch. */
export interface GradientStep {
  model: tfl.LayersModel;
  /** The batch to train on (after `perturb`). The loop disposes it. */
  batch: Batch;
  /** The trainable variables the optimizer updates. */
  vars: readonly tf.Variable[];
  /**
   * The trainer's objective on any batch (a slice of `batch`, one example for per-example gradients): the
   * forward pass in training mode and the loss with class/sample weights and regularization, as a scalar.
   * Call it inside `tf.variableGrads` / `tf.grads`.
   */
  loss(batch: Batch): tf.Scalar;
  /** Whether the loop wants `predictions` back (training metrics). */
  keepPredictions: boolean;
  /** The default: gradients of `loss(batch)` with respect to `vars`, in one tape. */
  defaultGradients(): StepGradients;
  epoch: number;
  /** Optimizer steps done before this one. */
  step: number;
}

/**
 * The loop's hook for how gradients are computed (DP-SGD's per-example clipping and noise, gradient
 * accumulation, ...): called once per batch, returns the gradients to apply. The loop then applies
 * `train.gradientClip` and the optimizer, and disposes every tensor it got back.
 */
export type GradientTransform = (step: GradientStep) => StepGradients | Promise<StepGradients>;

function outputsOf(model: tfl.LayersModel, batch: Batch, training: boolean): tf.Tensor[] {
  const out = model.apply(modelInputs(model, batch.xs), { training }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** The objective of a batch in training mode: forward + total loss. Runs inside a gradient tape. */
export function batchLoss(model: tfl.LayersModel, objective: Objective, batch: Batch, keep?: (preds: tf.Tensor[]) => void): tf.Scalar {
  const preds = outputsOf(model, batch, true);
  keep?.(preds);
  return objective.total(preds, modelTargets(objective.names, batch.ys), batch.sampleWeight);
}

/** Gradients of the objective on the whole batch, one tape (what `fit` has always done). */
export function defaultGradients(model: tfl.LayersModel, vars: readonly tf.Variable[], batch: Batch, objective: Objective, keepPredictions: boolean): StepGradients {
  let predictions: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(
    () =>
      batchLoss(model, objective, batch, (preds) => {
        if (keepPredictions) predictions = tf.keep(preds[0]!);
      }),
    vars as tf.Variable[],
  );
  return predictions ? { loss: value, grads, predictions } : { loss: value, grads };
}

import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TaskSpec } from '@tfpipe/core';
import { Objective } from './objective.js';
import type { TrainConfig } from './schema.js';

/**
 * The trainer's own objective (loss, class weights, label smoothing, regularization) as a shard loss for
 * data-parallel training: every worker thread imports this module and builds it over its model replica,
 * so each shard computes exactly what the single-thread step computes.
 */
export function createShardLoss(model: tfl.LayersModel, options: unknown): (yTrue: tf.Tensor[], yPred: tf.Tensor[], sampleWeight?: tf.Tensor) => tf.Scalar {
  const { config, task } = options as { config: TrainConfig; task?: TaskSpec };
  const objective = new Objective(model, config, task);
  return (yTrue, yPred, sampleWeight) => objective.total(yPred, yTrue, sampleWeight);
}

export { fit } from './fit.js';
export { createShardLoss } from './parallel-loss.js';
export type { GradientWorkers } from './step.js';
export type { FitOptions } from './fit.js';
export { trainSchema, parseTrainConfig, parsedTrainConfig, regularizationSchema, checkpointSchema } from './schema.js';
export type { TrainConfig, TrainConfigInput } from './schema.js';
export { checkTrainConfig, resolveMonitor } from './config-check.js';
export { availableMonitors, defaultMonitor, monitorDirection, isImprovement, trackBest } from './monitor.js';
export type { BestState } from './monitor.js';
export { earlyStoppingSchema, earlyStoppingStep, initialEarlyStoppingState } from './early-stopping.js';
export type { EarlyStoppingConfig, EarlyStoppingState, StopDecision } from './early-stopping.js';
export { scheduleSchema, scheduledLearningRate, plateauStep, initialPlateauState } from './schedules.js';
export type { ScheduleConfig, ScheduleProgress, PlateauState } from './schedules.js';
export { optimizerSchema, createOptimizer } from './optimizers.js';
export type { OptimizerConfig, TrainOptimizer } from './optimizers.js';
export { LOSS_NAMES, lossSchema, perSampleLoss } from './losses.js';
export type { LossName, LossFn } from './losses.js';
export { defaultLossForTask } from './objective.js';
export { accuracyMetric, builtinMetrics } from './accuracy.js';
export { checkpointDir, findCheckpoint, readState, loadCheckpointWeights } from './checkpoint.js';
export type { CheckpointState } from './checkpoint.js';
export { METRICS_JSONL, removeStaleTemps } from './run-files.js';
export { TensorBoardWriter, crc32c, maskedCrc32c, encodeEvent, encodeRecord } from './tfevents.js';
export { createProgressRenderer, formatEpochLog, formatDuration } from './progress.js';
export type { ProgressRenderer, ProgressRendererOptions } from './progress.js';
export type { Callback, CallbackContext, EpochLog, FitResult, ProgressEvent, StopReason } from './types.js';
export {
  DEFAULT_RDP_ORDERS,
  computeRdp,
  dpSgdEpsilon,
  dpSgdSteps,
  epsilonFromRdp,
  noiseForEpsilon,
  rdpOfStep,
} from './privacy/accountant.js';
export type { DpSgdAccounting, RdpConversion } from './privacy/accountant.js';
export { dpSgdGradients, microbatchBounds, perExampleGradientNorms } from './privacy/dp-sgd.js';
export type { DpSgdStepOptions, DpSgdStepResult, SliceLoss } from './privacy/dp-sgd.js';
export { poissonBatchIndices } from './privacy/sampling.js';
export { trainLoop } from './loop.js';
export type { LoopOptions, LoopResult } from './loop.js';
export type { GradientStep, GradientTransform, StepGradients } from './gradients.js';
export { BestWeights } from './callbacks/best-weights.js';
export type { BestWeightsOptions } from './callbacks/best-weights.js';
export { Checkpoint } from './callbacks/checkpoint.js';
export { EarlyStopping } from './callbacks/early-stopping.js';
export { LeakGuard } from './callbacks/leak-guard.js';
export { MetricsLog } from './callbacks/metrics-log.js';
export { NanGuard } from './callbacks/nan-guard.js';
export { Progress } from './callbacks/progress.js';
export { ReduceLROnPlateau } from './callbacks/reduce-lr-on-plateau.js';
export { TensorBoard } from './callbacks/tensorboard.js';
export { createCallbackRegistry, callbackItemSchema, callbacksFromConfig, earlyStoppingCallback } from './callbacks/registry.js';
export type { CallbackBuildContext, CallbackEntry, CallbackRegistry } from './callbacks/registry.js';
export { modelRandomState, setModelRandomState } from './random-state.js';
export type { RandomStateful } from './random-state.js';
export { privacySchema } from './privacy/schema.js';
export type { PrivacyConfig } from './privacy/schema.js';
export { dpTraining } from './privacy/dp-training.js';
export type { DpTraining } from './privacy/dp-training.js';
export { solveRidge } from './ridge.js';
export type { RidgeResult } from './ridge.js';

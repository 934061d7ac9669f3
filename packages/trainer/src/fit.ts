import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, type Direction, type Logger, type StreamingMetric, type TaskSpec, TfpipeError, silentLogger } from '@tfpipe/core';
import { builtinMetrics } from './accuracy.js';
import { outputNamesOf } from './batch.js';
import { BestWeights } from './callbacks/best-weights.js';
import { Checkpoint } from './callbacks/checkpoint.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import { LeakGuard } from './callbacks/leak-guard.js';
import { MetricsLog } from './callbacks/metrics-log.js';
import { NanGuard } from './callbacks/nan-guard.js';
import { Progress } from './callbacks/progress.js';
import { ReduceLROnPlateau } from './callbacks/reduce-lr-on-plateau.js';
import { type CallbackRegistry, callbacksFromConfig, createCallbackRegistry } from './callbacks/registry.js';
import { TensorBoard } from './callbacks/tensorboard.js';
import { checkTrainConfig, resolveMonitor } from './config-check.js';
import type { GradientTransform } from './gradients.js';
import { dpTraining } from './privacy/dp-training.js';
import { trainLoop } from './loop.js';
import { monitorDirection } from './monitor.js';
import { Objective } from './objective.js';
import { createOptimizer } from './optimizers.js';
import { type TrainConfig, type TrainConfigInput, parseTrainConfig } from './schema.js';
import type { GradientWorkers } from './step.js';
import type { Callback, FitResult, ProgressEvent } from './types.js';

export interface FitOptions {
  /** The `train:` section (raw or parsed; parsed with trainSchema either way). */
  config: TrainConfigInput | TrainConfig;
  /** A fresh pass over the training batches. `seed` changes every epoch and is restored on resume. */
  train: (epoch: { epoch: number; seed: number }) => AsyncIterable<Batch>;
  validation?: () => AsyncIterable<Batch>;
  /** Metric factory (called twice: training and validation instances). Default: built-ins for `config.metrics`. */
  metrics?: () => StreamingMetric[];
  task?: TaskSpec;
  /** Folder for metrics.jsonl, checkpoints/{last,best}, TensorBoard events. */
  runDir?: string;
  /** Continue from `<runDir>/checkpoints/last`. */
  resume?: boolean;
  seed?: number;
  callbacks?: Callback[];
  logger?: Logger;
  onProgress?: (event: ProgressEvent) => void;
  /** Aborting stops after the current step; best weights are restored, files closed. */
  signal?: AbortSignal;
  /** Limit (and progress total) of steps per epoch. */
  stepsPerEpoch?: number;
  /**
   * How each batch's gradients are computed (DP-SGD, accumulation, ...): receives the batch and the objective,
   * returns the gradients to apply; see `GradientTransform`. Default: one tape over the whole batch.
   */
  gradients?: GradientTransform;
  /** Registry for `config.callbacks` (YAML callbacks by type). Default: `createCallbackRegistry()`. */
  callbackRegistry?: CallbackRegistry;
  /** Training examples (N): `train.privacy`'s accountant needs it (sampling rate batchSize / N). */
  datasetSize?: number;
  /** Adversarial training hook: a batch to train on instead of (`replace`) or with (`append`) the clean one. */
  perturb?: (batch: Batch, model: tfl.LayersModel) => Batch | Promise<Batch>;
  perturbMode?: 'replace' | 'append';
  /** For `train.parallel`: `createDataParallel` from @tfpipe/backend-wasm (the pipeline passes it). */
  dataParallel?: (
    model: tfl.LayersModel,
    options: { workers: number | 'auto'; loss: { module: string; options?: unknown }; setup?: { module: string; call?: string }[] },
  ) => Promise<GradientWorkers>;
  /** Modules each worker imports before rebuilding the model (custom layers), e.g. @tfpipe/models' registerCustomLayers. */
  dataParallelSetup?: { module: string; call?: string }[];
}

/**
 * Trains a tfjs-layers model (not compiled) on batches. The boundary where a `train:` section enters: it is
 * parsed here once, checked against the run, and turned into the loop's parts — objective, optimizer and the
 * built-in callbacks (in calling order: NanGuard, MetricsLog, TensorBoard, Progress, BestWeights,
 * EarlyStopping, ReduceLROnPlateau, the `train.callbacks` and your own, Checkpoint, LeakGuard) — then
 * `trainLoop` runs them.
 */
export async function fit(model: tfl.LayersModel, options: FitOptions): Promise<FitResult> {
  const config = parseTrainConfig(options.config);
  const log = options.logger ?? silentLogger;
  const hasValidation = options.validation !== undefined;
  const makeMetrics = () => (options.metrics ? options.metrics() : builtinMetrics(config.metrics ?? [], options.task));
  const trainMetrics = makeMetrics();
  const valMetrics = hasValidation ? makeMetrics() : [];
  const metricNames = trainMetrics.map((m) => m.name);
  const issues = checkTrainConfig(config, { metricNames, hasValidation });
  if (issues.length) throw TfpipeError.fromIssues(issues);
  if (metricNames.length && outputNamesOf(model).length > 1) {
    throw TfpipeError.fromIssues([
      { path: ['train', 'metrics'], message: `metrics need a single-output model; this one has ${outputNamesOf(model).join(', ')}`, received: metricNames },
    ]);
  }
  const directions: Record<string, Direction> = Object.fromEntries(trainMetrics.map((m) => [m.name, m.direction]));
  const direction = (monitor: string) => monitorDirection(monitor, directions) as Direction;
  const monitor = resolveMonitor(config, hasValidation);
  const mode = resolveMode(config, monitor, directions);
  const fromConfig = callbacksFromConfig(config.callbacks ?? [], options.callbackRegistry ?? createCallbackRegistry(), {
    metricNames,
    hasValidation,
    direction,
    logger: log,
  });
  if (options.resume && !options.runDir) throw new TfpipeError('E_USAGE', 'resume needs a runDir');
  if (options.gradients && config.parallel !== 0) {
    throw TfpipeError.fromIssues([
      { path: ['train', 'parallel'], message: 'worker threads compute the gradients themselves; a gradient transform (fit option `gradients`) needs parallel: 0', received: config.parallel, expected: '0' },
    ]);
  }

  if (config.privacy && (options.gradients || config.parallel !== 0)) {
    throw TfpipeError.fromIssues([
      { path: ['train', 'privacy'], message: 'DP-SGD computes the gradients itself: it cannot be combined with train.parallel or a gradient transform of your own', received: 'dp-sgd' },
    ]);
  }
  if (config.privacy && options.datasetSize === undefined) {
    throw new TfpipeError('E_USAGE', 'train.privacy needs the number of training examples: pass fit(model, { datasetSize })', { path: ['train', 'privacy'] });
  }
  const privacy = config.privacy
    ? dpTraining(config.privacy, { datasetSize: options.datasetSize!, batchSize: config.batchSize, epochs: config.epochs, seed: options.seed ?? 0, logger: log })
    : undefined;
  const gradients = privacy?.gradients ?? options.gradients;

  const es = config.earlyStopping;
  const best = new BestWeights({ monitor, mode, restore: es?.restoreBest ?? false, save: config.checkpoint.best, logger: log });
  const schedule = config.schedule;
  const callbacks: Callback[] = [
    new NanGuard(config.onNaN),
    ...(privacy ? [privacy.accountant] : []),
    new MetricsLog(),
    ...(config.tensorboard ? [new TensorBoard({ logEverySteps: config.logEverySteps })] : []),
    ...(options.onProgress ? [new Progress(options.onProgress)] : []),
    best,
    ...(es ? [new EarlyStopping(es, monitor, mode, { logger: log })] : []),
    ...(schedule?.type === 'plateau'
      ? [new ReduceLROnPlateau(schedule, config.optimizer.learningRate, schedule.monitor ?? monitor, direction(schedule.monitor ?? monitor), log)]
      : []),
    ...fromConfig,
    ...(options.callbacks ?? []),
    new Checkpoint(config.checkpoint.every),
    new LeakGuard(config.leakCheck, log, () => best.heldTensors),
  ];

  const objective = new Objective(model, config, options.task);
  const optimizer = createOptimizer(config.optimizer);
  let workers: GradientWorkers | undefined;
  try {
    workers = config.parallel === 0 ? undefined : await startWorkers(model, config, options);
    const r = await trainLoop(model, {
      config,
      objective,
      optimizer,
      train: options.train,
      ...(options.validation ? { validation: options.validation } : {}),
      trainMetrics,
      valMetrics,
      callbacks,
      ...(options.runDir ? { runDir: options.runDir } : {}),
      ...(options.resume ? { resume: true } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.stepsPerEpoch !== undefined ? { stepsPerEpoch: options.stepsPerEpoch } : {}),
      ...(options.perturb ? { perturb: options.perturb } : {}),
      ...(options.perturbMode ? { perturbMode: options.perturbMode } : {}),
      ...(gradients ? { gradients } : {}),
      ...(workers ? { workers } : {}),
      onResume: (m) => log.info(m),
    });
    return {
      history: r.history,
      ...(best.state.epoch !== undefined ? { bestEpoch: best.state.epoch, bestValue: best.state.value! } : {}),
      monitor,
      stopReason: r.stopReason,
      ...(r.stopMessage ? { stopMessage: r.stopMessage } : {}),
      epochsRun: r.epochsRun,
      steps: r.steps,
      restoredBest: best.restored,
    };
  } finally {
    await workers?.dispose();
    objective.dispose();
    optimizer.dispose();
  }
}

/** The direction of the monitor: the metric's own; an explicit mode must agree with it. */
function resolveMode(config: TrainConfig, monitor: string, directions: Record<string, Direction>): Direction {
  const declared = monitorDirection(monitor, directions);
  if (!declared) throw new TfpipeError('E_INTERNAL', `no direction for monitor "${monitor}"`);
  const mode = config.earlyStopping?.mode ?? 'auto';
  if (mode !== 'auto' && mode !== declared) {
    throw TfpipeError.fromIssues([
      {
        path: ['train', 'earlyStopping', 'mode'],
        message: `contradicts the direction "${monitor}" declares (${declared === 'max' ? 'higher' : 'lower'} is better)`,
        received: mode,
        expected: `"auto" or "${declared}"`,
      },
    ]);
  }
  return declared;
}

/** Starts the gradient worker threads for `train.parallel`, each computing the trainer's own objective. */
async function startWorkers(model: tfl.LayersModel, config: TrainConfig, options: FitOptions): Promise<GradientWorkers> {
  if (!options.dataParallel) {
    throw new TfpipeError('E_USAGE', 'train.parallel needs the worker pool: pass createDataParallel from @tfpipe/backend-wasm as fit(model, { dataParallel })', {
      path: ['train', 'parallel'],
    });
  }
  if (typeof config.loss === 'function') {
    throw TfpipeError.fromIssues([{ path: ['train', 'parallel'], message: 'a loss given as a function cannot be sent to worker threads; use a loss name or parallel: 0', received: config.parallel }]);
  }
  const module = new URL(import.meta.url.endsWith('.ts') ? './parallel-loss.ts' : './parallel-loss.js', import.meta.url).href;
  return options.dataParallel(model, {
    workers: config.parallel,
    loss: { module, options: { config, task: options.task } },
    ...(options.dataParallelSetup ? { setup: options.dataParallelSetup } : {}),
  });
}

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  type Batch,
  type Direction,
  type Logger,
  type StreamingMetric,
  type TaskSpec,
  TfpipeError,
  appendJsonLine,
  createRng,
  silentLogger,
} from '@tfpipe/core';
import { builtinMetrics } from './accuracy.js';
import { batchSize, concatBatches, disposeBatches, outputNamesOf } from './batch.js';
import {
  type CheckpointState,
  checkpointDir,
  findCheckpoint,
  loadCheckpointWeights,
  readCheckpointTensors,
  readOptimizerData,
  readState,
  saveCheckpoint,
} from './checkpoint.js';
import { checkTrainConfig, resolveMonitor } from './config-check.js';
import { type EarlyStoppingState, earlyStoppingStep, initialEarlyStoppingState } from './early-stopping.js';
import { type BestState, monitorDirection, trackBest } from './monitor.js';
import { Objective } from './objective.js';
import { createOptimizer, optimizerWeights, setOptimizerWeights } from './optimizers.js';
import { METRICS_JSONL, truncateMetrics } from './run-files.js';
import { type PlateauState, initialPlateauState, plateauStep, scheduledLearningRate } from './schedules.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './schema.js';
import { evaluateStream, parallelStep, trainStep, updateMetrics, type GradientWorkers } from './step.js';
import { TensorBoardWriter } from './tfevents.js';
import type { Callback, CallbackContext, EpochLog, FitResult, ProgressEvent, StopReason } from './types.js';
import { LeakGuard } from './leak-guard.js';
import { modelRandomState, setModelRandomState } from './random-state.js';

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

interface Pending {
  loss: tf.Scalar;
  size: number;
  stepInEpoch: number;
  globalStep: number;
}

/**
 * Trains a tfjs-layers model (not compiled) on batches: schedules, regularization, class/sample weights,
 * validation, early stopping with best-weights restore, atomic checkpoints and resume, NaN and leak
 * guards, progress events, metrics.jsonl and TensorBoard files.
 */
export async function fit(model: tfl.LayersModel, options: FitOptions): Promise<FitResult> {
  const config = parseTrainConfig(options.config);
  const log = options.logger ?? silentLogger;
  const hasValidation = options.validation !== undefined;
  const trainMetrics = options.metrics ? options.metrics() : builtinMetrics(config.metrics ?? [], options.task);
  const valMetrics = hasValidation ? (options.metrics ? options.metrics() : builtinMetrics(config.metrics ?? [], options.task)) : [];
  const metricNames = trainMetrics.map((m) => m.name);
  const issues = checkTrainConfig(config, { metricNames, hasValidation });
  if (issues.length) throw TfpipeError.fromIssues(issues);
  if (metricNames.length && outputNamesOf(model).length > 1) {
    throw TfpipeError.fromIssues([
      { path: ['train', 'metrics'], message: `metrics need a single-output model; this one has ${outputNamesOf(model).join(', ')}`, received: metricNames },
    ]);
  }
  const directions: Record<string, Direction> = Object.fromEntries(trainMetrics.map((m) => [m.name, m.direction]));
  const monitor = resolveMonitor(config, hasValidation);
  const mode = resolveMode(config, monitor, directions);
  const schedule = config.schedule;
  const plateauMonitor = schedule?.type === 'plateau' ? (schedule.monitor ?? monitor) : undefined;
  const plateauMode = plateauMonitor ? (monitorDirection(plateauMonitor, directions) as Direction) : 'min';
  const es = config.earlyStopping;
  const restoreBest = es?.restoreBest ?? false;
  const callbacks = options.callbacks ?? [];
  const runDir = options.runDir;
  if (options.resume && !runDir) throw new TfpipeError('E_USAGE', 'resume needs a runDir');

  const objective = new Objective(model, config, options.task);
  const optimizer = createOptimizer(config.optimizer);
  // LayerVariable.read() returns the tf.Variable itself (typed as Tensor).
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const workers = config.parallel === 0 ? undefined : await startWorkers(model, config, options);
  const rng = createRng(options.seed ?? 0);
  let history: EpochLog[] = [];
  let step = 0;
  let startEpoch = 0;
  let measuredSteps: number | undefined;
  let best: BestState = {};
  let esState: EarlyStoppingState | undefined = es ? initialEarlyStoppingState(es) : undefined;
  let plateau: PlateauState = initialPlateauState();
  let bestWeights: tf.Tensor[] | undefined;
  let finished: CheckpointState['finished'];
  let tb: TensorBoardWriter | undefined;
  let stopReason: StopReason = 'completed';
  let stopMessage: string | undefined;
  let restored = false;
  const leak = new LeakGuard(config.leakCheck, log);

  try {
    // Resume: weights, optimizer slots, counters, RNG, stopping state, callbacks; drop later metrics lines.
    if (runDir) {
      const lastDir = await findCheckpoint(runDir, 'last');
      if (lastDir && !options.resume) {
        throw new TfpipeError('E_USAGE', `${runDir} already holds a training run (${lastDir})`, {
          hint: 'Pass resume: true to continue it, or use an empty runDir.',
        });
      }
      if (lastDir) {
        const s = await readState(lastDir);
        await loadCheckpointWeights(lastDir, model);
        await setOptimizerWeights(optimizer, await readOptimizerData(lastDir), s.optimizer.specs);
        rng.setState(s.rng);
        setModelRandomState(model, s.random);
        ({ step, best, history } = s);
        startEpoch = s.epoch;
        measuredSteps = s.stepsPerEpoch;
        if (s.earlyStopping) esState = s.earlyStopping;
        if (s.plateau) plateau = s.plateau;
        finished = s.finished;
        callbacks.forEach((cb, i) => {
          const st = s.callbacks[cb.name ?? String(i)];
          if (st !== undefined) cb.loadStateDict?.(st);
        });
        const bestDir = restoreBest ? await findCheckpoint(runDir, 'best') : undefined;
        if (bestDir) bestWeights = (await readCheckpointTensors(bestDir, model)).map((t) => tf.keep(t));
        await truncateMetrics(runDir, s.epoch);
        log.info(`resuming from epoch ${s.epoch} (step ${step}) of ${lastDir}`);
      } else {
        await rm(join(runDir, METRICS_JSONL), { force: true });
        if (options.resume) log.info(`no checkpoint in ${runDir}: starting from the first epoch`);
      }
      if (config.tensorboard) tb = new TensorBoardWriter(runDir);
    }

    let stopRequested = finished !== undefined;
    const ctx: CallbackContext = {
      model,
      epoch: startEpoch,
      epochs: config.epochs,
      step,
      logs: {},
      rng,
      stopTraining(reason) {
        stopReason = 'early-stopping';
        stopMessage = reason;
        stopRequested = true;
      },
    };
    if (finished) {
      stopReason = finished.reason as StopReason;
      stopMessage = finished.message;
    }
    for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
    const runStart = performance.now();
    let runSteps = 0;

    for (let epoch = startEpoch + 1; epoch <= config.epochs && !stopRequested; epoch++) {
      const epochStart = performance.now();
      const epochSeed = rng.seed32();
      ctx.epoch = epoch;
      for (const cb of callbacks) await cb.onEpochBegin?.(ctx);
      for (const m of trainMetrics) m.reset();
      let lossSum = 0;
      let samples = 0;
      let stepInEpoch = 0;
      let lr = optimizer.learningRate();
      let pending: Pending | undefined;
      let nanAt: Pending | undefined;
      const spe = options.stepsPerEpoch ?? measuredSteps;

      // The loss of step k is read while step k+1 runs: no per-step stall on async backends.
      const settle = async (p: Pending): Promise<void> => {
        const v = (await p.loss.data())[0]!;
        p.loss.dispose();
        if (!Number.isFinite(v)) {
          nanAt ??= p;
          return;
        }
        lossSum += v * p.size;
        samples += p.size;
        const elapsed = (performance.now() - epochStart) / 1000;
        const sps = elapsed > 0 ? samples / elapsed : 0;
        const perStep = (performance.now() - runStart) / 1000 / Math.max(1, runSteps);
        const eta = spe !== undefined ? ((spe - p.stepInEpoch) + (config.epochs - epoch) * spe) * perStep : undefined;
        options.onProgress?.({
          type: 'step',
          epoch,
          epochs: config.epochs,
          step: p.stepInEpoch,
          globalStep: p.globalStep,
          ...(spe !== undefined ? { stepsPerEpoch: spe } : {}),
          loss: v,
          samplesPerSec: sps,
          ...(eta !== undefined ? { eta: Math.max(0, eta) } : {}),
        });
        if (tb && config.logEverySteps > 0 && p.globalStep % config.logEverySteps === 0) tb.scalars(p.globalStep, { 'batch/loss': v });
        ctx.step = p.globalStep;
        ctx.logs = { loss: v, size: p.size };
        for (const cb of callbacks) await cb.onBatchEnd?.(ctx);
      };

      const iterator = options.train({ epoch, seed: epochSeed })[Symbol.asyncIterator]();
      try {
        while (!stopRequested && nanAt === undefined) {
          if (options.signal?.aborted) {
            stopReason = 'interrupted';
            stopMessage = 'aborted by signal';
            stopRequested = true;
            break;
          }
          if (options.stepsPerEpoch !== undefined && stepInEpoch >= options.stepsPerEpoch) break;
          const next = await iterator.next();
          if (next.done) break;
          const clean = next.value;
          let perturbed: Batch | undefined;
          let batch = clean;
          try {
            if (options.perturb) {
              perturbed = await options.perturb(clean, model);
              batch = options.perturbMode === 'append' ? concatBatches(clean, perturbed) : perturbed;
            }
            lr = scheduledLearningRate(config.optimizer.learningRate, schedule, { epoch: epoch - 1, step, epochs: config.epochs, ...(spe !== undefined ? { stepsPerEpoch: spe } : {}) }, plateau);
            optimizer.setLearningRate(lr);
            const keep = config.trainMetrics && trainMetrics.length > 0;
            const { loss, predictions } = workers
              ? await parallelStep(workers, vars, batch, optimizer, config.gradientClip, keep)
              : trainStep(model, vars, batch, objective, optimizer, config.gradientClip, keep);
            if (predictions) {
              updateMetrics(trainMetrics, objective, batch, predictions);
              predictions.dispose();
            }
            step++;
            runSteps++;
            stepInEpoch++;
            const current: Pending = { loss, size: batchSize(batch), stepInEpoch, globalStep: step };
            if (pending) await settle(pending);
            pending = current;
          } finally {
            disposeBatches(clean, perturbed, batch === clean || batch === perturbed ? undefined : batch);
          }
          if (config.validationEverySteps !== undefined && options.validation && step % config.validationEverySteps === 0) {
            const v = await evaluateStream(model, options.validation(), objective, valMetrics);
            const logs = Object.fromEntries(Object.entries(v).map(([k, x]) => [`val_${k}`, x]));
            options.onProgress?.({ type: 'validation', epoch, epochs: config.epochs, globalStep: step, logs });
            tb?.scalars(step, Object.fromEntries(Object.entries(logs).map(([k, x]) => [`step/${k}`, x])));
          }
        }
      } finally {
        await iterator.return?.();
        if (pending) await settle(pending);
      }
      if (nanAt) {
        const at: Pending = nanAt;
        stopReason = 'nan';
        stopMessage = `the loss is NaN/Inf at epoch ${epoch}, step ${at.stepInEpoch} (global step ${at.globalStep})`;
        if (config.onNaN === 'error') {
          throw new TfpipeError('E_TRAIN', stopMessage, {
            hint: 'Lower the learning rate, set train.gradientClip, or check the data for NaN/Inf values.',
          });
        }
        break;
      }
      if (stopReason === 'interrupted') break;
      if (measuredSteps === undefined && options.stepsPerEpoch === undefined) measuredSteps = stepInEpoch;

      // Epoch end: logs, validation, best, stopping, schedule, checkpoints.
      const trainSeconds = (performance.now() - epochStart) / 1000;
      const entry: EpochLog = { epoch, loss: samples > 0 ? lossSum / samples : Number.NaN, lr, samplesPerSec: 0, seconds: 0 };
      if (config.trainMetrics) for (const m of trainMetrics) entry[m.name] = m.result();
      if (options.validation) {
        const v = await evaluateStream(model, options.validation(), objective, valMetrics);
        for (const [k, x] of Object.entries(v)) entry[`val_${k}`] = x;
      }
      entry.samplesPerSec = trainSeconds > 0 ? samples / trainSeconds : 0;
      entry.seconds = (performance.now() - epochStart) / 1000;
      history.push(entry);
      if (runDir) await appendJsonLine(join(runDir, METRICS_JSONL), entry);
      tb?.scalars(epoch, Object.fromEntries(Object.entries(entry).filter(([k, x]) => k !== 'epoch' && x !== undefined)) as Record<string, number>);
      options.onProgress?.({ type: 'epoch', epoch, epochs: config.epochs, log: entry });
      ctx.step = step;
      ctx.logs = { ...entry } as Record<string, number>;
      for (const cb of callbacks) await cb.onEpochEnd?.(ctx);

      const value = entry[monitor];
      const tracked = trackBest(best, epoch, value, mode);
      best = tracked.state;
      if (tracked.improved) {
        if (restoreBest) {
          tf.dispose(bestWeights);
          bestWeights = model.weights.map((w) => tf.keep(w.read().clone()));
        }
        if (runDir && (config.checkpoint.best || restoreBest)) {
          await save(checkpointDir(runDir, 'best'), epoch, undefined);
        }
      }
      if (es && esState) {
        const r = earlyStoppingStep(esState, { epoch, value, monitor, mode }, es);
        esState = r.state;
        if (r.decision.stop && !stopRequested) {
          stopReason = 'early-stopping';
          stopMessage = r.decision.reason;
          stopRequested = true;
          log.info(`early stopping at epoch ${epoch}: ${r.decision.reason}`);
        }
      }
      if (schedule?.type === 'plateau' && plateauMonitor) {
        const r = plateauStep(plateau, entry[plateauMonitor], plateauMode, schedule);
        plateau = r.state;
        if (r.reduced) log.info(`epoch ${epoch}: ${plateauMonitor} plateaued; learning rate x${schedule.factor}`);
      }
      const done = stopRequested || epoch === config.epochs;
      if (runDir && (done || epoch % config.checkpoint.every === 0)) {
        await save(checkpointDir(runDir, 'last'), epoch, done ? { reason: stopReason, ...(stopMessage ? { message: stopMessage } : {}) } : undefined);
      }
      leak.check(epoch, bestWeights?.length ?? 0);
    }

    if (restoreBest && bestWeights && best.epoch !== undefined && best.epoch !== history.at(-1)?.epoch) {
      model.setWeights(bestWeights);
      restored = true;
      log.info(`restored the weights of epoch ${best.epoch} (${monitor} ${best.value})`);
    } else if (restoreBest && bestWeights) restored = true;
    ctx.logs = history.length ? ({ ...history.at(-1) } as Record<string, number>) : {};
    for (const cb of callbacks) await cb.onTrainEnd?.(ctx);
    return {
      history,
      ...(best.epoch !== undefined ? { bestEpoch: best.epoch, bestValue: best.value! } : {}),
      monitor,
      stopReason,
      ...(stopMessage ? { stopMessage } : {}),
      epochsRun: history.length ? history.at(-1)!.epoch : startEpoch,
      steps: step,
      restoredBest: restored,
    };
  } catch (e) {
    // Whatever failed, leave the model with its best weights when asked to.
    if (restoreBest && bestWeights && !restored) model.setWeights(bestWeights);
    throw e;
  } finally {
    await workers?.dispose();
    tb?.close();
    tf.dispose(bestWeights);
    objective.dispose();
    optimizer.dispose();
  }

  async function save(dir: string, epoch: number, fin: CheckpointState['finished']): Promise<void> {
    const opt = await optimizerWeights(optimizer);
    await saveCheckpoint(dir, model, opt, {
      version: 1,
      epoch,
      step,
      rng: rng.getState(),
      random: modelRandomState(model),
      ...(measuredSteps !== undefined ? { stepsPerEpoch: measuredSteps } : {}),
      lr: optimizer.learningRate(),
      best,
      ...(esState ? { earlyStopping: esState } : {}),
      plateau,
      callbacks: Object.fromEntries(callbacks.flatMap((cb, i) => (cb.stateDict ? [[cb.name ?? String(i), cb.stateDict()]] : []))),
      history,
      ...(fin ? { finished: fin } : {}),
      optimizer: { type: optimizer.config.type, specs: opt.specs },
      savedAt: new Date().toISOString(),
    });
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

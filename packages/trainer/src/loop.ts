import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, type StreamingMetric, TfpipeError, createRng } from '@tfpipe/core';
import { batchSize, concatBatches, disposeBatches } from './batch.js';
import {
  type CheckpointState,
  checkpointDir,
  findCheckpoint,
  loadCheckpointWeights,
  readOptimizerData,
  readState,
  saveCheckpoint,
} from './checkpoint.js';
import { type GradientTransform, batchLoss, defaultGradients } from './gradients.js';
import type { Objective } from './objective.js';
import { type TrainOptimizer, optimizerWeights, setOptimizerWeights } from './optimizers.js';
import { modelRandomState, setModelRandomState } from './random-state.js';
import { removeStaleTemps } from './run-files.js';
import { scheduledLearningRate } from './schedules.js';
import type { TrainConfig } from './schema.js';
import { type GradientWorkers, applyGradients, evaluateStream, parallelGradients, updateMetrics } from './step.js';
import type { Callback, CallbackContext, EpochLog, StopReason } from './types.js';

/** What the loop needs: a parsed config, the pieces `fit` resolved from it, and the callbacks in calling order. */
export interface LoopOptions {
  config: TrainConfig;
  objective: Objective;
  optimizer: TrainOptimizer;
  train: (epoch: { epoch: number; seed: number }) => AsyncIterable<Batch>;
  validation?: () => AsyncIterable<Batch>;
  trainMetrics: StreamingMetric[];
  valMetrics: StreamingMetric[];
  callbacks: Callback[];
  runDir?: string;
  resume?: boolean;
  seed?: number;
  signal?: AbortSignal;
  stepsPerEpoch?: number;
  perturb?: (batch: Batch, model: tfl.LayersModel) => Batch | Promise<Batch>;
  perturbMode?: 'replace' | 'append';
  gradients?: GradientTransform;
  workers?: GradientWorkers;
  onResume?: (message: string) => void;
}

export interface LoopResult {
  history: EpochLog[];
  stopReason: StopReason;
  stopMessage?: string;
  epochsRun: number;
  steps: number;
}

/**
 * The training loop: it owns epochs, steps and "should we stop" (epochs done, a stop requested by a callback,
 * an abort), and the loop's own part of a checkpoint (epoch, step, RNG, steps per epoch, history, the model's
 * random layers, the optimizer). Everything else — logs, best weights, early stopping, plateau, checkpoints,
 * guards — is a callback, called in the order given.
 */
export async function trainLoop(model: tfl.LayersModel, o: LoopOptions): Promise<LoopResult> {
  const { config, objective, optimizer, callbacks, runDir } = o;
  if (o.resume && !runDir) throw new TfpipeError('E_USAGE', 'resume needs a runDir');
  // LayerVariable.read() returns the tf.Variable itself (typed as Tensor).
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const rng = createRng(o.seed ?? 0);
  let history: EpochLog[] = [];
  let step = 0;
  let startEpoch = 0;
  let measuredSteps: number | undefined;
  let finished: CheckpointState['finished'];
  let resumedFrom: number | undefined;
  const names = callbacks.map((cb, i) => cb.name ?? String(i));

  const ctx: CallbackContext = {
    model,
    epoch: 0,
    epochs: config.epochs,
    step: 0,
    stepInEpoch: 0,
    logs: {},
    learningRate: config.optimizer.learningRate,
    rng,
    ...(runDir ? { runDir } : {}),
    stopTraining(message, kind = 'early-stopping') {
      ctx.stopping ??= { kind, message };
    },
    async saveCheckpoint(name, fin) {
      if (!runDir) return;
      const opt = await optimizerWeights(optimizer);
      await saveCheckpoint(checkpointDir(runDir, name), model, opt, {
        version: 2,
        epoch: ctx.epoch,
        step,
        rng: rng.getState(),
        random: modelRandomState(model),
        ...(measuredSteps !== undefined ? { stepsPerEpoch: measuredSteps } : {}),
        lr: optimizer.learningRate(),
        callbacks: Object.fromEntries(callbacks.flatMap((cb, i) => (cb.stateDict ? [[names[i]!, cb.stateDict()]] : []))),
        history,
        ...(fin ? { finished: fin } : {}),
        optimizer: { type: optimizer.config.type, specs: opt.specs },
        savedAt: new Date().toISOString(),
      });
    },
  };
  // Read through a function: callbacks change ctx.stopping behind TypeScript's narrowing.
  const stopKind = (): StopReason | undefined => ctx.stopping?.kind;
  const call = async (hook: 'onTrainBegin' | 'onEpochBegin' | 'onBatchBegin' | 'onValidationEnd' | 'onEpochEnd' | 'onTrainEnd') => {
    for (const cb of callbacks) await cb[hook]?.(ctx);
  };

  try {
    // Resume: weights, optimizer, the loop's counters and RNGs, every callback's state.
    if (runDir) {
      if (o.resume) await removeStaleTemps(runDir);
      const lastDir = await findCheckpoint(runDir, 'last');
      if (lastDir && !o.resume) {
        throw new TfpipeError('E_USAGE', `${runDir} already holds a training run (${lastDir})`, {
          hint: 'Pass resume: true to continue it, or use an empty runDir.',
        });
      }
      if (lastDir) {
        const s = upgradeState(await readState(lastDir));
        await loadCheckpointWeights(lastDir, model);
        await setOptimizerWeights(optimizer, await readOptimizerData(lastDir), s.optimizer.specs);
        rng.setState(s.rng);
        setModelRandomState(model, s.random);
        ({ step, history } = s);
        startEpoch = s.epoch;
        resumedFrom = s.epoch;
        measuredSteps = s.stepsPerEpoch;
        finished = s.finished;
        for (let i = 0; i < callbacks.length; i++) {
          const st = s.callbacks[names[i]!];
          if (st !== undefined) await callbacks[i]!.loadStateDict?.(st);
        }
        o.onResume?.(`resuming from epoch ${s.epoch} (step ${step}) of ${lastDir}`);
      } else if (o.resume) o.onResume?.(`no checkpoint in ${runDir}: starting from the first epoch`);
    }
    if (resumedFrom !== undefined) ctx.resumedFrom = resumedFrom;
    if (finished) ctx.stopping = { kind: finished.reason as Exclude<StopReason, 'completed'>, message: finished.message ?? '' };
    ctx.epoch = startEpoch;
    ctx.step = step;
    await call('onTrainBegin');

    for (let epoch = startEpoch + 1; epoch <= config.epochs && !stopKind(); epoch++) {
      const epochStart = performance.now();
      const epochSeed = rng.seed32();
      ctx.epoch = epoch;
      ctx.stepInEpoch = 0;
      ctx.stepsPerEpoch = o.stepsPerEpoch ?? measuredSteps;
      await call('onEpochBegin');
      for (const m of o.trainMetrics) m.reset();
      let lossSum = 0;
      let samples = 0;
      let stepInEpoch = 0;
      let lr = optimizer.learningRate();
      const spe = ctx.stepsPerEpoch;

      const iterator = o.train({ epoch, seed: epochSeed })[Symbol.asyncIterator]();
      try {
        while (!stopKind()) {
          if (o.signal?.aborted) {
            ctx.stopTraining('aborted by signal', 'interrupted');
            break;
          }
          if (o.stepsPerEpoch !== undefined && stepInEpoch >= o.stepsPerEpoch) break;
          const next = await iterator.next();
          if (next.done) break;
          const clean = next.value;
          let perturbed: Batch | undefined;
          let batch = clean;
          try {
            if (o.perturb) {
              perturbed = await o.perturb(clean, model);
              batch = o.perturbMode === 'append' ? concatBatches(clean, perturbed) : perturbed;
            }
            ctx.stepInEpoch = stepInEpoch + 1;
            ctx.step = step;
            ctx.learningRate = scheduledLearningRate(config.optimizer.learningRate, config.schedule, { epoch: epoch - 1, step, epochs: config.epochs, ...(spe !== undefined ? { stepsPerEpoch: spe } : {}) });
            await call('onBatchBegin');
            // A callback may stop before the step (a privacy budget that one more step would exceed).
            if (stopKind()) break;
            lr = ctx.learningRate;
            optimizer.setLearningRate(lr);
            const keep = config.trainMetrics && o.trainMetrics.length > 0;
            const got = o.workers
              ? await parallelGradients(o.workers, batch, keep)
              : o.gradients
                ? await o.gradients({
                    model,
                    batch,
                    vars,
                    loss: (b) => batchLoss(model, objective, b),
                    keepPredictions: keep,
                    defaultGradients: () => defaultGradients(model, vars, batch, objective, keep),
                    epoch,
                    step,
                  })
                : defaultGradients(model, vars, batch, objective, keep);
            applyGradients(vars, got.grads, optimizer, config.gradientClip);
            if (got.predictions) {
              updateMetrics(o.trainMetrics, objective, batch, got.predictions);
              got.predictions.dispose();
            }
            step++;
            stepInEpoch++;
            const size = batchSize(batch);
            const loss = (await got.loss.data())[0]!;
            got.loss.dispose();
            if (Number.isFinite(loss)) {
              lossSum += loss * size;
              samples += size;
            }
            ctx.step = step;
            ctx.logs = { loss, size };
            // A NaN stop (NanGuard) ends the batch's callbacks: nothing else sees a NaN step.
            for (const cb of callbacks) {
              await cb.onBatchEnd?.(ctx);
              if (stopKind() === 'nan') break;
            }
          } finally {
            disposeBatches(clean, perturbed, batch === clean || batch === perturbed ? undefined : batch);
          }
          if (config.validationEverySteps !== undefined && o.validation && step % config.validationEverySteps === 0 && stopKind() !== 'nan') {
            const v = await evaluateStream(model, o.validation(), objective, o.valMetrics);
            ctx.logs = Object.fromEntries(Object.entries(v).map(([k, x]) => [`val_${k}`, x]));
            await call('onValidationEnd');
          }
        }
      } finally {
        await iterator.return?.();
      }
      // A NaN or an abort leaves the epoch unfinished: no log, no checkpoint (a resume trains it again).
      if (stopKind() === 'nan' || stopKind() === 'interrupted') break;
      if (measuredSteps === undefined && o.stepsPerEpoch === undefined) measuredSteps = stepInEpoch;

      const trainSeconds = (performance.now() - epochStart) / 1000;
      const entry: EpochLog = { epoch, loss: samples > 0 ? lossSum / samples : Number.NaN, lr, samplesPerSec: 0, seconds: 0 };
      if (config.trainMetrics) for (const m of o.trainMetrics) entry[m.name] = m.result();
      if (o.validation) {
        const v = await evaluateStream(model, o.validation(), objective, o.valMetrics);
        for (const [k, x] of Object.entries(v)) entry[`val_${k}`] = x;
      }
      entry.samplesPerSec = trainSeconds > 0 ? samples / trainSeconds : 0;
      entry.seconds = (performance.now() - epochStart) / 1000;
      history.push(entry);
      ctx.step = step;
      // The entry itself: values a callback adds to the epoch's log (the privacy accountant's epsilon) are
      // kept in the history, metrics.jsonl and checkpoints alike.
      ctx.logs = entry as unknown as Record<string, number>;
      await call('onEpochEnd');
    }

    ctx.logs = history.length ? ({ ...history.at(-1) } as Record<string, number>) : {};
    await call('onTrainEnd');
    return {
      history,
      stopReason: ctx.stopping?.kind ?? 'completed',
      ...(ctx.stopping?.message ? { stopMessage: ctx.stopping.message } : {}),
      epochsRun: history.length ? history.at(-1)!.epoch : startEpoch,
      steps: step,
    };
  } catch (e) {
    for (const cb of callbacks) await cb.onTrainError?.(ctx, e);
    throw e;
  } finally {
    for (const cb of callbacks) await cb.dispose?.();
  }
}

/** Version-1 checkpoints kept best/early-stopping/plateau states beside the loop's; they are callbacks' now. */
function upgradeState(s: CheckpointState & { best?: unknown; earlyStopping?: unknown; plateau?: unknown }): CheckpointState {
  if (s.version !== 1) return s;
  const callbacks = { ...s.callbacks };
  if (s.best !== undefined) callbacks['best-weights'] ??= s.best;
  if (s.earlyStopping !== undefined) callbacks['early-stopping'] ??= s.earlyStopping;
  if (s.plateau !== undefined) callbacks['reduce-lr-on-plateau'] ??= s.plateau;
  return { ...s, callbacks };
}

import type * as tfl from '@tensorflow/tfjs-layers';
import { createDataParallel } from '@tfpipe/backend-wasm';
import type { Logger, StreamingMetric } from '@tfpipe/core';
import { createMetric } from '@tfpipe/evaluate';
import { createPerturb, prepareFinetune, runStages, type PreparedFinetune } from '@tfpipe/finetune';
import { buildModel } from '@tfpipe/models';
import { METRICS_JSONL, fit, parsedTrainConfig, solveRidge, type EpochLog, type FitResult, type ProgressEvent } from '@tfpipe/trainer';
import { appendJsonLine } from '@tfpipe/core';
import { join } from 'node:path';
import type { PipelineRegistries } from '../config/registries.js';
import type { PipelineConfig } from '../schema.js';
import type { DataPhase } from './data-phase.js';

export interface ModelPhase {
  model: tfl.LayersModel;
  /** Fine-tuning runs: the model "before" (the base, or base + fresh head at step 0). */
  finetune?: PreparedFinetune;
}

/** Builds the model from `model:`, or prepares it from `finetune.base` (freeze, new head, LoRA). */
export async function createModel(cfg: PipelineConfig, data: DataPhase, ctx: { baseDir: string; logger: Logger; registries?: PipelineRegistries }): Promise<ModelPhase> {
  const { tz } = data;
  if (cfg.finetune) {
    const prepared = await prepareFinetune(cfg.finetune, { task: tz.task, inputs: tz.inputs, seed: cfg.seed, baseDir: ctx.baseDir });
    ctx.logger.info(
      `fine-tuning ${prepared.base.dir}: ${prepared.trainableParams.toLocaleString('en-US')} of ${prepared.totalParams.toLocaleString('en-US')} parameters train` +
        `${prepared.frozen.length ? `; frozen: ${prepared.frozen.join(', ')}` : ''}${prepared.headLayers.length ? `; new head: ${prepared.headLayers.join(', ')}` : ''}${prepared.lora?.length ? `; LoRA on ${prepared.lora.length} layer(s)` : ''}`,
    );
    return { model: prepared.model, finetune: prepared };
  }
  return { model: buildModel(cfg.model, { inputs: tz.inputs, task: tz.task, seed: cfg.seed, ...(ctx.registries ? { registry: ctx.registries.models } : {}) }) };
}

export interface TrainOutcome {
  history: EpochLog[];
  bestEpoch?: number;
  stopReason: FitResult['stopReason'];
  epochsRun: number;
}

/** Trains with the trainer's `fit`, or in fine-tuning stages; adversarial training through the perturb hook. */
export async function trainModel(
  cfg: PipelineConfig,
  data: DataPhase,
  phase: ModelPhase,
  ctx: { runDir: string; resume: boolean; logger: Logger; onProgress?: (e: ProgressEvent) => void; signal?: AbortSignal },
): Promise<TrainOutcome> {
  const { tz } = data;
  const bs = cfg.train.batchSize;
  if (cfg.model?.type === 'linear' && cfg.model.solver === 'exact' && !phase.finetune) return solveExactly(cfg, data, phase, ctx);
  // `train:` was parsed with the pipeline's schema (which composes the trainer's): it is not parsed again.
  const { adversarial, ...rest } = cfg.train;
  const train = parsedTrainConfig(rest);
  const metricNames = train.metrics ?? [];
  const options = {
    train: data.trainBatches(bs),
    ...(data.validation ? { validation: data.batches(data.validation, bs) } : {}),
    metrics: () => metricNames.map((n: string) => createMetric(n, tz.task) as unknown as StreamingMetric),
    task: tz.task,
    runDir: ctx.runDir,
    resume: ctx.resume,
    seed: cfg.seed,
    logger: ctx.logger,
    ...(adversarial ? { perturb: createPerturb(adversarial, { seed: cfg.seed }) } : {}),
    ...(train.parallel !== 0
      ? {
          dataParallel: createDataParallel,
          // Worker threads rebuild the model from its JSON: they need our custom layers registered first.
          dataParallelSetup: [
            { module: import.meta.resolve('@tfpipe/models'), call: 'registerCustomLayers' },
            { module: import.meta.resolve('@tfpipe/finetune'), call: 'registerFinetuneLayers' },
          ],
        }
      : {}),
    ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(data.trainSize !== undefined ? { stepsPerEpoch: Math.ceil(data.trainSize / bs), datasetSize: data.trainSize } : {}),
  };
  if (phase.finetune && (cfg.finetune?.stages || cfg.finetune?.layerLearningRates)) {
    const staged = await runStages(phase.model, {
      ...options,
      config: train,
      ...(phase.finetune.stages ? { stages: phase.finetune.stages } : {}),
      ...(cfg.finetune.layerLearningRates ? { layerLearningRates: cfg.finetune.layerLearningRates } : {}),
      freezable: phase.finetune.freezable,
    });
    for (const st of staged.stages) {
      ctx.logger.info(`${st.name}: ${st.result.epochsRun} epoch(s) at learning rate ${st.learningRate}, ${st.trainableParams.toLocaleString('en-US')} trainable parameters${st.frozen.length ? `, frozen: ${st.frozen.join(', ')}` : ''}`);
    }
    const last = staged.stages.at(-1)?.result;
    return {
      history: staged.history.map((h, i) => ({ ...h, epoch: i + 1 })) as EpochLog[],
      stopReason: last?.stopReason ?? 'completed',
      epochsRun: staged.history.length,
    };
  }
  const result = await fit(phase.model, { ...options, config: train });
  return {
    history: result.history,
    ...(result.bestEpoch !== undefined ? { bestEpoch: result.bestEpoch } : {}),
    stopReason: result.stopReason,
    epochsRun: result.epochsRun,
  };
}

/** `model: { type: linear, solver: exact }`: ridge in closed form on the whole training split, one "epoch". */
async function solveExactly(cfg: PipelineConfig, data: DataPhase, phase: ModelPhase, ctx: { runDir: string; logger: Logger }): Promise<TrainOutcome> {
  const model = cfg.model as { regularization?: { l2?: number } };
  const l2 = (model.regularization?.l2 ?? 0) + (cfg.train.regularization?.l2 ?? 0);
  const t0 = performance.now();
  const r = await solveRidge(phase.model, data.batches(data.train, 4096)(), { l2 });
  const seconds = (performance.now() - t0) / 1000;
  const log: EpochLog = { epoch: 1, loss: r.loss, lr: 0, samplesPerSec: r.rows / Math.max(seconds, 1e-9), seconds };
  await appendJsonLine(join(ctx.runDir, METRICS_JSONL), log);
  ctx.logger.info(`linear regression solved exactly on ${r.rows} training rows, ${r.features} features (ridge, l2 ${l2}): training loss ${r.loss.toFixed(6)}`);
  return { history: [log], stopReason: 'completed', epochsRun: 1 };
}

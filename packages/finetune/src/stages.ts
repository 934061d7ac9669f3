import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError, parseSection, writeFileAtomic } from '@tfpipe/core';
import { type EpochLog, type FitOptions, type FitResult, fit, parseTrainConfig, parsedTrainConfig, type TrainConfig, type TrainConfigInput } from '@tfpipe/trainer';
import { z } from 'zod';
import { countParams, type FreezeSpec, freezeLayers, freezeSpecSchema, frozenBatchNormInference, selectLayers, unfreezeLayers, unfreezeSpecSchema } from './freeze.js';
import { type LayerLearningRates, layerLearningRateCallback, resolveLayerMultipliers, UpdateScaler } from './layer-lr.js';

/** One stage of a staged fine-tune: what changes at its start, then `epochs` of training. */
export const stageSchema = z
  .object({
    name: z.string().min(1).optional().describe('Label in logs and the history (default "stage-<n>")'),
    epochs: z.number().int().min(1).describe('Epochs of this stage'),
    unfreeze: unfreezeSpecSchema.optional(),
    freeze: freezeSpecSchema.optional(),
    exclude: z.array(z.string().min(1)).default([]).describe('Patterns left out of this stage\'s freeze'),
    learningRate: z.number().gt(0).optional().describe("This stage's learning rate (default: train.optimizer.learningRate)"),
  })
  .strict()
  .describe('A training stage: unfreeze, then freeze, then train');
export type StageConfig = z.infer<typeof stageSchema>;
export type StageInput = z.input<typeof stageSchema>;

/** One epoch of a staged run: the trainer's log with `epoch` counted over all stages, plus the stage (1-based) and its own epoch. */
export type StagedEpochLog = EpochLog & { stage: number; stageEpoch: number };

export interface StageResult {
  name: string;
  /** Layers frozen during the stage. */
  frozen: string[];
  trainableParams: number;
  learningRate: number;
  result: FitResult;
}

export interface RunStagesOptions extends Omit<FitOptions, 'config'> {
  /** The `train:` section; each stage overrides `epochs` and the learning rate. */
  config: TrainConfigInput | TrainConfig;
  /** Default: one stage of `config.epochs`. */
  stages?: StageInput[];
  layerLearningRates?: LayerLearningRates;
  /** Layers freeze/unfreeze patterns may select (default: all); a new head is left out by prepareFinetune. */
  freezable?: readonly string[];
  /** Keep batch-norm layers frozen (inference mode) even when a stage unfreezes them (Keras' fine-tuning advice). */
  keepBatchNormFrozen?: boolean;
  path?: (string | number)[];
}

/**
 * Trains in stages, e.g. the new head first, then everything at a lower learning rate: for each stage,
 * unfreeze, freeze, then the trainer's `fit` with the stage's epochs and learning rate (a fresh optimizer,
 * as Keras' recompile). Frozen batch-norm layers run in inference mode. With a runDir each stage keeps its
 * trainer files in `<runDir>/stages/<n>` (resume continues at the unfinished stage) and `<runDir>/metrics.jsonl`
 * holds every epoch with its stage.
 */
export async function runStages(model: tfl.LayersModel, options: RunStagesOptions): Promise<{ stages: StageResult[]; history: StagedEpochLog[] }> {
  const base = parseTrainConfig(options.config);
  const path = options.path ?? ['finetune', 'stages'];
  const stages = (options.stages ?? [{ epochs: base.epochs }]).map((s, i) => parseSection(stageSchema, s, [...path, i]));
  const sel = options.freezable ? { layers: options.freezable } : {};
  // Check every pattern before any training.
  stages.forEach((s, i) => {
    if (s.unfreeze && s.unfreeze !== 'all') selectLayers(model, s.unfreeze as FreezeSpec, { ...sel, path: [...path, i, 'unfreeze'] });
    if (s.freeze) selectLayers(model, s.freeze, { ...sel, exclude: s.exclude, path: [...path, i, 'freeze'] });
  });
  const multipliers = resolveLayerMultipliers(model, options.layerLearningRates ?? []);
  const bn = frozenBatchNormInference(model);
  const results: StageResult[] = [];
  const history: StagedEpochLog[] = [];
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i]!;
    const name = s.name ?? `stage-${i + 1}`;
    if (s.unfreeze) unfreezeLayers(model, s.unfreeze as FreezeSpec, { ...sel, path: [...path, i, 'unfreeze'] });
    if (s.freeze) freezeLayers(model, s.freeze, { ...sel, exclude: s.exclude, path: [...path, i, 'freeze'] });
    if (options.keepBatchNormFrozen) for (const n of bn) model.getLayer(n).trainable = false;
    const trainableParams = countParams(model).trainable;
    if (trainableParams === 0) {
      throw TfpipeError.fromIssues([{ path: [...path, i], message: `stage "${name}" has nothing to train: every layer is frozen` }]);
    }
    const learningRate = s.learningRate ?? base.optimizer.learningRate;
    // Derived from the parsed base: not parsed again by fit.
    const config = parsedTrainConfig({ ...base, epochs: s.epochs, optimizer: { ...base.optimizer, learningRate } });
    const scaler = UpdateScaler.forModel(model, multipliers);
    const callbacks = scaler.size > 0 ? [layerLearningRateCallback(scaler), ...(options.callbacks ?? [])] : options.callbacks;
    const frozen = model.layers.filter((l) => l.weights.length > 0 && !l.trainable).map((l) => l.name);
    let result: FitResult;
    try {
      result = await fit(model, {
        ...options,
        config,
        ...(callbacks ? { callbacks } : {}),
        ...(options.runDir ? { runDir: stages.length > 1 ? join(options.runDir, 'stages', String(i + 1)) : options.runDir } : {}),
      });
    } finally {
      scaler.dispose();
    }
    const offset = history.length;
    for (const e of result.history) history.push({ ...e, epoch: offset + e.epoch, stage: i + 1, stageEpoch: e.epoch });
    results.push({ name, frozen, trainableParams, learningRate, result });
    if (options.runDir && stages.length > 1) {
      await writeFileAtomic(join(options.runDir, 'metrics.jsonl'), history.map((h) => `${JSON.stringify(h)}\n`).join(''));
    }
    if (result.stopReason === 'interrupted' || result.stopReason === 'nan') break;
  }
  return { stages: results, history };
}

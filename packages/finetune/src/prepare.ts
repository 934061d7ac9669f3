import { isAbsolute, resolve } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type InputSpec, type TaskSpec, TfpipeError } from '@tfpipe/core';
import { taskOutput } from '@tfpipe/models';
import { type LoadedBase, loadBase, loadModelCopy } from './base.js';
import { countParams, freezeLayers, frozenBatchNormInference, modelLayers } from './freeze.js';
import { replaceHead } from './head.js';
import { loadAdapters } from './lora/adapters.js';
import { applyLora, type LoraLayerPlan } from './lora/apply.js';
import { copyWeightsByName, rewriteModel } from './lora/rewrite.js';
import { type FinetuneConfig, type FinetuneConfigInput, parseFinetuneConfig } from './schema.js';
import type { StageConfig } from './stages.js';

export interface PreparedFinetune {
  /** The model to train (not compiled): base weights, new head, frozen layers, adapters. */
  model: tfl.LayersModel;
  /** The base as loaded, untouched; for a tfpipe run also its preprocessing state (raw JSON) for the integrator. */
  base: Omit<LoadedBase, 'artifacts'>;
  /** What "before" means for compareBeforeAfter: the base itself, or (new head) the prepared model at step 0. */
  before: tfl.LayersModel;
  trainableParams: number;
  totalParams: number;
  /** The stages to run (runStages' `stages`), when the config has them. */
  stages?: StageConfig[];
  /** Layers frozen by `freeze`. */
  frozen: string[];
  /** Layers of the new head. */
  headLayers: string[];
  /** Layers freeze patterns may select (the base's; the new head always trains). */
  freezable: string[];
  lora?: LoraLayerPlan[];
  config: FinetuneConfig;
}

function checkInputs(model: tfl.LayersModel, inputs: readonly InputSpec[]): void {
  const shapes = model.inputs.map((t) => t.shape.slice(1));
  const names = model.inputs.map((t) => t.sourceLayer.name);
  const fmt = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;
  if (inputs.length !== shapes.length) {
    throw new TfpipeError('E_MODEL', `the base model takes ${shapes.length} input(s) (${names.join(', ')}); the data has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`, { path: ['finetune', 'base'] });
  }
  inputs.forEach((spec, i) => {
    const j = inputs.length > 1 && names.includes(spec.name) ? names.indexOf(spec.name) : i;
    const s = shapes[j]!;
    if (s.length !== spec.shape.length || s.some((d, k) => d !== null && d !== spec.shape[k])) {
      throw new TfpipeError('E_MODEL', `input "${spec.name}": the data gives ${fmt(spec.shape)} per sample; the base model's input "${names[j]}" takes ${fmt(s)}`, {
        path: ['finetune', 'base'],
        hint: 'Fine-tune on data preprocessed like the base (same image size, same text length).',
      });
    }
  });
}

function checkOutput(model: tfl.LayersModel, task: TaskSpec): void {
  const units = model.outputs[0]!.shape.at(-1);
  const want = taskOutput(task).units;
  if (model.outputs.length === 1 && units !== want) {
    throw TfpipeError.fromIssues([
      {
        path: ['finetune', 'head'],
        message: `the base model outputs ${units} value(s) per sample; the ${task.kind} task needs ${want}. Replace the head: head: { dropTop: 1 }`,
        expected: 'a head section',
      },
    ]);
  }
}

/** A copy of a model with its own variables holding the same values now. */
export async function cloneModel(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const out = await rewriteModel(model, () => undefined);
  copyWeightsByName(model, out);
  return out;
}

/**
 * Loads the base and builds the model to fine-tune: input check, new head, freezing (batch norm in inference
 * mode while frozen), LoRA adapters (and saved ones), parameter counts. Nothing is trained here.
 */
export async function prepareFinetune(
  input: FinetuneConfigInput | FinetuneConfig,
  options: { task: TaskSpec; inputs?: readonly InputSpec[]; seed: number; baseDir?: string },
): Promise<PreparedFinetune> {
  const config = parseFinetuneConfig(input);
  const loaded = await loadBase(config.base, { baseDir: options.baseDir ?? '.' });
  const { artifacts, ...base } = loaded;
  const copy = await loadModelCopy(artifacts);
  const owned: tfl.LayersModel[] = [copy];
  try {
    if (options.inputs) checkInputs(copy, options.inputs);
    let model = copy;
    let headLayers: string[] = [];
    if (config.head) {
      ({ model, headLayers } = replaceHead(copy, config.head, { task: options.task, seed: options.seed }));
    } else checkOutput(copy, options.task);
    const freezable = modelLayers(model)
      .map((l) => l.name)
      .filter((n) => !headLayers.includes(n));
    const frozen = config.freeze ? freezeLayers(model, config.freeze, { exclude: config.exclude, layers: freezable }) : [];
    let lora: LoraLayerPlan[] | undefined;
    if (config.lora) {
      const r = await applyLora(model, config.lora, { seed: options.seed, keepTrainable: headLayers });
      lora = r.plan;
      disposeIntermediate(copy, model, headLayers);
      owned.length = 0;
      model = r.model;
    }
    if (config.adapters) {
      const dir = isAbsolute(config.adapters) ? config.adapters : resolve(options.baseDir ?? '.', config.adapters);
      const next = await loadAdapters(model, dir);
      if (next !== model) {
        if (owned.length) disposeIntermediate(copy, model, headLayers);
        else model.dispose();
        owned.length = 0;
        model = next;
      }
    }
    owned.length = 0;
    const bn = frozenBatchNormInference(model);
    if (config.batchNorm === 'frozen') for (const n of bn) model.getLayer(n).trainable = false;
    const before = config.head ? await cloneModel(model) : base.model;
    const { trainable, total } = countParams(model);
    return {
      model,
      base,
      before,
      trainableParams: trainable,
      totalParams: total,
      ...(config.stages ? { stages: config.stages } : {}),
      frozen,
      headLayers,
      freezable,
      ...(lora ? { lora } : {}),
      config,
    };
  } catch (e) {
    for (const m of owned) m.dispose();
    loaded.model.dispose();
    throw e;
  }
}

/** Frees the loaded copy and, when a head was put on it, the head's layers (the base layers are the copy's). */
function disposeIntermediate(copy: tfl.LayersModel, model: tfl.LayersModel, headLayers: readonly string[]): void {
  if (model !== copy) for (const n of headLayers) model.getLayer(n).dispose();
  copy.dispose();
}

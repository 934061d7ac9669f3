import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed, parseSection, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { modelLayers } from '../freeze.js';
import { matchNames } from '../patterns.js';
import { ATTENTION_PROJECTIONS, type AttentionProjection, LoraDense, LoraSelfAttention } from './layers.js';
import { baseLayerConfig, copyWeightsByName, type LayerJson, rewriteModel } from './rewrite.js';

const patternList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** `finetune.lora`: low-rank adapters on Dense layers and on self-attention projections. */
export const loraSchema = z
  .object({
    rank: z.number().int().min(1).default(8).describe('Rank r of the adapter matrices A [in, r] and B [r, out]'),
    alpha: z.number().positive().default(16).describe('Scale numerator: the update is (alpha / rank) · x A B'),
    dropout: z.number().min(0).lt(1).default(0).describe("Dropout on the adapter's input while training"),
    target: patternList.describe(
      'Layers to adapt: globs or /regex/ over the names of Dense and self-attention layers (e.g. "ff_dense_*", "self_attention_*")',
    ),
    exclude: z.array(z.string().min(1)).default([]).describe('Patterns of layers not to adapt'),
    projections: z
      .array(z.enum(ATTENTION_PROJECTIONS))
      .min(1)
      .default(['query', 'value'])
      .describe('Which projections of a self-attention layer get adapters'),
    trainable: z
      .array(z.string().min(1))
      .default([])
      .describe('Patterns of other layers that train fully beside the adapters (e.g. "output"); every other layer is frozen'),
  })
  .strict()
  .describe('LoRA: train low-rank adapters, freeze the rest');
export type LoraConfig = z.infer<typeof loraSchema>;
export type LoraConfigInput = z.input<typeof loraSchema>;

/** One adapted layer: everything needed to rebuild its adapter on the base model. */
export interface LoraLayerPlan {
  layer: string;
  kind: 'dense' | 'attention';
  rank: number;
  alpha: number;
  dropout: number;
  seed: number;
  /** Attention only. */
  projections?: AttentionProjection[];
}

const ADAPTABLE: Record<string, LoraLayerPlan['kind']> = { Dense: 'dense', TfpipeMultiHeadSelfAttention: 'attention' };

/** Names of the layers LoRA can adapt (Dense and tfpipe self-attention), in model order. */
export function adaptableLayers(model: tfl.LayersModel): string[] {
  return modelLayers(model)
    .filter((l) => l.getClassName() in ADAPTABLE)
    .map((l) => l.name);
}

/** The LoRA layers of a model. */
export function loraLayers(model: tfl.LayersModel): (LoraDense | LoraSelfAttention)[] {
  return modelLayers(model).filter((l): l is LoraDense | LoraSelfAttention => l instanceof LoraDense || l instanceof LoraSelfAttention);
}

/** Which layers a LoRA config adapts, with per-layer seeds (E_CONFIG when a pattern matches no adaptable layer). */
export function planLora(model: tfl.LayersModel, config: LoraConfigInput, options: { seed: number; path?: (string | number)[] }): LoraLayerPlan[] {
  const path = options.path ?? ['finetune', 'lora'];
  const c = parseSection(loraSchema, config, path);
  const names = matchNames(adaptableLayers(model), c.target, {
    path: [...path, 'target'],
    exclude: c.exclude,
    excludePath: [...path, 'exclude'],
    what: 'Dense or self-attention layer',
  });
  return names.map((layer) => {
    const kind = ADAPTABLE[model.getLayer(layer).getClassName()]!;
    return {
      layer,
      kind,
      rank: c.rank,
      alpha: c.alpha,
      dropout: c.dropout,
      seed: hashSeed(`${options.seed}:lora:${layer}`),
      ...(kind === 'attention' ? { projections: [...c.projections] } : {}),
    };
  });
}

/** A new model where the planned layers carry adapters (A seeded, B zero), base weights copied by name. */
export async function injectLora(model: tfl.LayersModel, plan: readonly LoraLayerPlan[]): Promise<tfl.LayersModel> {
  const byName = new Map(plan.map((p) => [p.layer, p]));
  const known = new Set(modelLayers(model).map((l) => l.name));
  for (const p of plan) {
    if (!known.has(p.layer)) throw new TfpipeError('E_MODEL', `no layer "${p.layer}" to adapt; the layers are: ${[...known].join(', ')}`);
  }
  const out = await rewriteModel(model, (layer) => {
    const p = byName.get(layer.config.name);
    if (!p) return undefined;
    const c = layer.config;
    if (p.kind === 'dense') {
      if (layer.class_name !== 'Dense') throw new TfpipeError('E_MODEL', `layer "${p.layer}" is a ${layer.class_name}, not a Dense layer`);
      const config = { ...baseLayerConfig(c), units: c.units, activation: c.activation, use_bias: c.use_bias, rank: p.rank, alpha: p.alpha, dropout: p.dropout, seed: p.seed };
      return { ...layer, class_name: LoraDense.className, config } as LayerJson;
    }
    if (layer.class_name !== 'TfpipeMultiHeadSelfAttention') {
      throw new TfpipeError('E_MODEL', `layer "${p.layer}" is a ${layer.class_name}, not a self-attention layer`);
    }
    const config = { ...c, rank: p.rank, alpha: p.alpha, lora_dropout: p.dropout, lora_seed: p.seed, projections: p.projections ?? ['query', 'value'] };
    return { ...layer, class_name: LoraSelfAttention.className, config } as LayerJson;
  });
  copyWeightsByName(model, out);
  return out;
}

/**
 * Adds LoRA adapters to the layers `config.target` selects and freezes everything else but the adapters
 * and the `trainable` (and `keepTrainable`) layers. Returns a new model; the given one is left as it was.
 */
export async function applyLora(
  model: tfl.LayersModel,
  config: LoraConfigInput,
  options: { seed: number; path?: (string | number)[]; keepTrainable?: readonly string[] },
): Promise<{ model: tfl.LayersModel; plan: LoraLayerPlan[] }> {
  const path = options.path ?? ['finetune', 'lora'];
  const c = parseSection(loraSchema, config, path);
  const plan = planLora(model, c, { seed: options.seed, path });
  const keep = new Set([
    ...(options.keepTrainable ?? []),
    ...(c.trainable.length
      ? matchNames(
          modelLayers(model).map((l) => l.name),
          c.trainable,
          { path: [...path, 'trainable'] },
        )
      : []),
  ]);
  const out = await injectLora(model, plan);
  for (const layer of modelLayers(out)) {
    layer.trainable = layer instanceof LoraDense || layer instanceof LoraSelfAttention || keep.has(layer.name);
  }
  return { model: out, plan };
}

/** scale · A B for one adapter. */
function delta(a: tfl.LayerVariable, b: tfl.LayerVariable, scale: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.matMul(a.read() as tf.Tensor2D, b.read() as tf.Tensor2D), scale));
}

/**
 * Folds every adapter into its base weights (W + (alpha/rank) A B) and returns a model of plain layers
 * (Dense, TfpipeMultiHeadSelfAttention) that predicts the same, for export. Trainable flags are kept.
 */
export async function mergeLora(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const merged = new Map<string, () => tf.Tensor>();
  for (const layer of loraLayers(model)) {
    const w = new Map(layer.weights.map((v) => [v.originalName.slice(layer.name.length + 1), v]));
    const fold = (kernel: string, prefix: string) => {
      const k = w.get(kernel)!;
      const a = w.get(`${prefix}lora_a`);
      const b = w.get(`${prefix}lora_b`);
      if (a && b) merged.set(k.originalName, () => tf.tidy(() => tf.add(k.read(), delta(a, b, layer.scale))));
    };
    if (layer instanceof LoraDense) fold('kernel', '');
    else for (const p of layer.projections) fold(`${p}_kernel`, `${p}_`);
  }
  const out = await rewriteModel(model, (layer) => {
    const c = layer.config;
    if (layer.class_name === LoraDense.className) {
      const config = { ...baseLayerConfig(c), units: c.units, activation: c.activation, use_bias: c.use_bias };
      return { ...layer, class_name: 'Dense', config } as LayerJson;
    }
    if (layer.class_name === LoraSelfAttention.className) {
      const { rank: _r, alpha: _a, lora_dropout: _d, lora_seed: _s, projections: _p, ...config } = c;
      return { ...layer, class_name: 'TfpipeMultiHeadSelfAttention', config } as LayerJson;
    }
    return undefined;
  });
  copyWeightsByName(model, out, (name) => merged.get(name)?.());
  const trainable = new Map(modelLayers(model).map((l) => [l.name, l.trainable]));
  for (const layer of modelLayers(out)) layer.trainable = trainable.get(layer.name) ?? true;
  return out;
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError, writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import { injectLora, type LoraLayerPlan, loraLayers } from './apply.js';
import { LoraDense } from './layers.js';

export const ADAPTERS_JSON = 'adapters.json';
export const ADAPTERS_BIN = 'adapters.bin';
const FORMAT = 'tfpipe-lora-adapters';

/** `adapters.json`: which layers carry adapters, their settings, and the manifest of adapters.bin. */
export interface AdaptersFile {
  format: typeof FORMAT;
  version: 1;
  layers: LoraLayerPlan[];
  /** Other layers that trained fully beside the adapters (lora.trainable, a new head): saved whole. */
  trainedLayers: string[];
  weights: tf.io.WeightsManifestEntry[];
  /** Adapter parameters in all. */
  params: number;
}

/** The plan that rebuilds a model's adapters. */
export function adapterPlan(model: tfl.LayersModel): LoraLayerPlan[] {
  return loraLayers(model).map((l) =>
    l instanceof LoraDense
      ? { layer: l.name, kind: 'dense', rank: l.rank, alpha: l.alpha, dropout: l.dropout, seed: l.seed }
      : { layer: l.name, kind: 'attention', rank: l.rank, alpha: l.alpha, dropout: l.loraDropout, seed: l.loraSeed, projections: [...l.projections] },
  );
}

function adapterWeights(model: tfl.LayersModel): tfl.LayerVariable[] {
  return loraLayers(model).flatMap((l) => l.weights.filter((w) => /lora_[ab]$/.test(w.originalName)));
}

/** Layers that train beside the adapters (not LoRA layers, trainable, with weights). */
function trainedLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  const lora = new Set<tfl.layers.Layer>(loraLayers(model));
  return model.layers.filter((l) => !lora.has(l) && l.trainable && l.trainableWeights.length > 0);
}

function savedWeights(model: tfl.LayersModel, extra: readonly string[]): tfl.LayerVariable[] {
  return [...adapterWeights(model), ...extra.flatMap((n) => model.getLayer(n).weights)];
}

/**
 * Saves only what fine-tuning changed in a LoRA model: `<dir>/adapters.bin` (A and B of every adapted layer,
 * plus the weights of layers that trained fully beside them, such as `lora.trainable` or a new head; by scoped
 * weight name) then `<dir>/adapters.json` (layers, settings, manifest). Returns the files, bytes and parameters.
 */
export async function saveAdapters(model: tfl.LayersModel, dir: string): Promise<{ files: string[]; bytes: number; params: number }> {
  const extra = trainedLayers(model).map((l) => l.name);
  const weights = savedWeights(model, extra);
  if (adapterWeights(model).length === 0) throw new TfpipeError('E_MODEL', 'the model has no LoRA adapters to save', { hint: 'Call applyLora first.' });
  const { data, specs } = await tf.io.encodeWeights(weights.map((w) => ({ name: w.originalName, tensor: w.read() })));
  const bytes = new Uint8Array(data as ArrayBuffer);
  const params = weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  await writeFileAtomic(join(dir, ADAPTERS_BIN), bytes);
  const file: AdaptersFile = { format: FORMAT, version: 1, layers: adapterPlan(model), trainedLayers: extra, weights: specs, params };
  await writeJsonAtomic(join(dir, ADAPTERS_JSON), file);
  return { files: [join(dir, ADAPTERS_BIN), join(dir, ADAPTERS_JSON)], bytes: bytes.byteLength, params };
}

async function readAdapters(dir: string): Promise<{ file: AdaptersFile; data: ArrayBuffer }> {
  let file: AdaptersFile;
  let buf: Buffer;
  try {
    file = JSON.parse(await readFile(join(dir, ADAPTERS_JSON), 'utf8')) as AdaptersFile;
    buf = await readFile(join(dir, ADAPTERS_BIN));
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read LoRA adapters from ${dir}: ${(e as Error).message}`, { cause: e });
  }
  if (file.format !== FORMAT || file.version !== 1) {
    throw new TfpipeError('E_IO', `${join(dir, ADAPTERS_JSON)}: received format ${JSON.stringify(file.format)} version ${file.version}; expected "${FORMAT}" version 1`);
  }
  return { file, data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer };
}

/**
 * Puts saved adapters on a model. On a base model (no adapters) the adapted layers are rebuilt as LoRA
 * layers first (a new model is returned; the given one is left as it was); on a model that already has the
 * same adapters, their weights are overwritten in place. Shapes and layer names must match (E_MODEL).
 */
export async function loadAdapters(model: tfl.LayersModel, dir: string): Promise<tfl.LayersModel> {
  const { file, data } = await readAdapters(dir);
  const existing = new Set(loraLayers(model).map((l) => l.name));
  const target = existing.size > 0 ? model : await injectLora(model, file.layers);
  const missing = file.layers.filter((p) => !loraLayers(target).some((l) => l.name === p.layer));
  if (missing.length) {
    throw new TfpipeError('E_MODEL', `the model has no adapter on ${missing.map((p) => p.layer).join(', ')} (saved in ${dir})`);
  }
  const tensors = tf.io.decodeWeights(data, file.weights);
  try {
    const vars = new Map(savedWeights(target, file.trainedLayers ?? []).map((w) => [w.originalName, w]));
    for (const [name, t] of Object.entries(tensors)) {
      const v = vars.get(name);
      if (!v) throw new TfpipeError('E_MODEL', `adapter weight "${name}" of ${dir} has no place in the model; it has ${[...vars.keys()].join(', ')}`);
      if (v.shape.join(',') !== t.shape.join(',')) {
        throw new TfpipeError('E_MODEL', `adapter weight "${name}": saved shape [${t.shape}], the model's is [${v.shape}]`);
      }
      v.write(t);
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  if (target !== model) {
    const train = new Set<tfl.layers.Layer>([...loraLayers(target), ...(file.trainedLayers ?? []).map((n) => target.getLayer(n))]);
    for (const layer of target.layers) layer.trainable = train.has(layer);
  }
  return target;
}

import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { matchNames } from './patterns.js';

const DEPTH = /^all-but-last-(\d+)$/;

/** `freeze:` as YAML: `all`, `all-but-last-N`, a pattern, or a list of patterns. */
export const freezeSpecSchema = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe(
    'Layers to freeze: "all", "all-but-last-N" (all but the last N layers that hold weights), a glob (conv*) or /regex/, or a list of them',
  );
export type FreezeSpec = z.infer<typeof freezeSpecSchema>;

/** `unfreeze:` as YAML: `all`, a pattern, or a list of patterns. */
export const unfreezeSpecSchema = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe('Layers to make trainable again: "all", a glob or /regex/, or a list of them');

/** Layers that are not the model's input placeholders, in topological order. */
export function modelLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer');
}

/** Layers with weights (the ones freezing changes), in topological order. */
export function weightedLayers(model: tfl.LayersModel, among?: readonly string[]): tfl.layers.Layer[] {
  return modelLayers(model).filter((l) => l.weights.length > 0 && (among === undefined || among.includes(l.name)));
}

export interface SelectOptions {
  /** Config path of the spec, for messages (default ['finetune', 'freeze']). */
  path?: (string | number)[];
  /** Patterns of layers to leave out. */
  exclude?: readonly string[];
  /** Restrict to these layer names (default: every layer with weights). */
  layers?: readonly string[];
}

/** Resolves a freeze/unfreeze spec to layer names (only layers with weights count). */
export function selectLayers(model: tfl.LayersModel, spec: FreezeSpec, options: SelectOptions = {}): string[] {
  const path = options.path ?? ['finetune', 'freeze'];
  const candidates = weightedLayers(model, options.layers).map((l) => l.name);
  const excludePath = [...path.slice(0, -1), 'exclude'];
  const list = typeof spec === 'string' ? [spec] : spec;
  const chosen = new Set<string>();
  const patterns: string[] = [];
  const patternPaths: (string | number)[][] = [];
  list.forEach((item, i) => {
    const itemPath = typeof spec === 'string' ? path : [...path, i];
    const depth = DEPTH.exec(item);
    if (item === 'all') for (const n of candidates) chosen.add(n);
    else if (depth) {
      const keep = Number(depth[1]);
      if (keep > candidates.length) {
        throw TfpipeError.fromIssues([
          {
            path: itemPath,
            message: `the model has ${candidates.length} layers with weights (${candidates.join(', ')})`,
            received: item,
            expected: `all-but-last-N with N <= ${candidates.length}`,
          },
        ]);
      }
      for (const n of candidates.slice(0, candidates.length - keep)) chosen.add(n);
    } else {
      patterns.push(item);
      patternPaths.push(itemPath);
    }
  });
  patterns.forEach((p, i) => {
    for (const n of matchNames(candidates, p, { path: patternPaths[i]! })) chosen.add(n);
  });
  const excluded = options.exclude?.length ? new Set(matchNames(candidates, options.exclude, { path: excludePath })) : new Set<string>();
  return candidates.filter((n) => chosen.has(n) && !excluded.has(n));
}

/** Sets `trainable = false` on the layers a spec selects; returns their names. */
export function freezeLayers(model: tfl.LayersModel, spec: FreezeSpec, options: SelectOptions = {}): string[] {
  const names = selectLayers(model, spec, options);
  for (const n of names) model.getLayer(n).trainable = false;
  return names;
}

/** Sets `trainable = true` on the layers a spec selects (`all` = every layer with weights); returns their names. */
export function unfreezeLayers(model: tfl.LayersModel, spec: FreezeSpec, options: SelectOptions = {}): string[] {
  const names = selectLayers(model, spec, { path: ['finetune', 'unfreeze'], ...options });
  for (const n of names) model.getLayer(n).trainable = true;
  return names;
}

const patched = new WeakSet<tfl.layers.Layer>();

/**
 * Makes every batch-normalization layer of the model run in inference mode (moving statistics, no updates)
 * while it is frozen, as Keras does since TF 2.0. tfjs-layers' BatchNormalization ignores `trainable`: with
 * training=true it normalizes with the batch statistics and updates the moving ones even when frozen. The
 * patch is on the instances (the saved model is a plain BatchNormalization); unfreezing restores training mode.
 */
export function frozenBatchNormInference(model: tfl.LayersModel): string[] {
  const names: string[] = [];
  for (const layer of modelLayers(model)) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    names.push(layer.name);
    if (patched.has(layer)) continue;
    patched.add(layer);
    const call = layer.call.bind(layer);
    layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) =>
      call(inputs, { ...kwargs, training: kwargs.training === true && layer.trainable });
  }
  return names;
}

/** Trainable and total parameter counts (non-trainable statistics such as moving means count in the total). */
export function countParams(model: tfl.LayersModel): { trainable: number; total: number } {
  const size = (ws: tfl.LayerVariable[]) => ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  return { trainable: size(model.trainableWeights), total: size(model.weights) };
}

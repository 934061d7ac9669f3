import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerCustomLayers } from '@tfpipe/models';
import { registerFinetuneLayers } from './layers.js';

/** One layer entry of a model's JSON topology (Keras' snake_case form). */
export interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name: string };
  name?: string;
  inbound_nodes?: unknown;
}

/** The layers list of a Sequential or functional model's topology. */
function layersOf(topology: Record<string, unknown>): LayerJson[] {
  const config = topology.config as { layers?: LayerJson[] } | LayerJson[];
  return Array.isArray(config) ? config : (config.layers ?? []);
}

/**
 * A new model with the same graph where `edit` may replace a layer's JSON entry (class and config), built
 * from the topology with fresh variables. Weights are not copied (see copyWeightsByName).
 */
export async function rewriteModel(model: tfl.LayersModel, edit: (layer: LayerJson) => LayerJson | undefined): Promise<tfl.LayersModel> {
  registerCustomLayers();
  registerFinetuneLayers();
  const topology = structuredClone(model.toJSON(null, false) as Record<string, unknown>);
  const layers = layersOf(topology);
  layers.forEach((layer, i) => {
    const next = edit(layer);
    if (next) layers[i] = next;
  });
  return tfl.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] } as never);
}

/** Keys of a layer's JSON config kept when its class changes: identity, shape and dtype. */
export function baseLayerConfig(config: Record<string, unknown>): Record<string, unknown> & { name: string } {
  const keep = ['name', 'trainable', 'batch_input_shape', 'input_shape', 'dtype'];
  return Object.fromEntries(Object.entries(config).filter(([k]) => keep.includes(k))) as Record<string, unknown> & { name: string };
}

/**
 * Writes into every weight of `to` the weight of `from` with the same scoped name (`dense_0/kernel`) and
 * shape, or the tensor `override` gives for that name. Returns the names of `to` left untouched.
 */
export function copyWeightsByName(
  from: tfl.LayersModel,
  to: tfl.LayersModel,
  override: (name: string) => tf.Tensor | undefined = () => undefined,
): string[] {
  const source = new Map(from.weights.map((w) => [w.originalName, w]));
  const untouched: string[] = [];
  for (const w of to.weights) {
    const given = override(w.originalName);
    if (given) {
      w.write(given);
      given.dispose();
      continue;
    }
    const src = source.get(w.originalName);
    if (src && src.shape.join(',') === w.shape.join(',')) w.write(src.read()); // shares the data (ref-counted); either side may be disposed later
    else untouched.push(w.originalName);
  }
  return untouched;
}

import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * A layer that draws random numbers while training (a seeded dropout) and can hand over and take back the
 * state of its generator, so a checkpoint carries it and a resumed run draws the same masks as an
 * uninterrupted one. Duck-typed: any layer with both methods takes part, wherever it sits in the model.
 */
export interface RandomStateful {
  getRandomState(): unknown;
  setRandomState(state: unknown): void;
}

function isRandomStateful(layer: unknown): layer is RandomStateful {
  const l = layer as Partial<RandomStateful>;
  return typeof l.getRandomState === 'function' && typeof l.setRandomState === 'function';
}

/**
 * Every random-stateful layer of a model, keyed by its position (`3`, or `2/1` inside a nested model) and
 * class: weights are restored by position too, and tfjs numbers auto-generated layer names per process.
 */
function randomLayers(model: tfl.LayersModel): Map<string, RandomStateful> {
  const out = new Map<string, RandomStateful>();
  const walk = (layers: readonly tfl.layers.Layer[], prefix: string): void => {
    for (const [i, layer] of layers.entries()) {
      const key = `${prefix}${i}:${layer.getClassName()}`;
      if (isRandomStateful(layer)) out.set(key, layer);
      const inner = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
      if (Array.isArray(inner)) walk(inner, `${prefix}${i}/`);
    }
  };
  walk(model.layers, '');
  return out;
}

/** The generator states of the model's random layers (plain JSON, for state.json), by position and class. */
export function modelRandomState(model: tfl.LayersModel): Record<string, unknown> {
  return Object.fromEntries([...randomLayers(model)].map(([k, l]) => [k, l.getRandomState()]));
}

/** Puts back what `modelRandomState` saved; layers the state does not name keep theirs. */
export function setModelRandomState(model: tfl.LayersModel, state: Readonly<Record<string, unknown>> | undefined): void {
  if (!state) return;
  for (const [k, l] of randomLayers(model)) if (state[k] !== undefined) l.setRandomState(state[k]);
}

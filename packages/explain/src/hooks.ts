import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { didYouMean, TfpipeError } from '@tfpipe/core';

type Layer = tfl.layers.Layer;
type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/** Every layer of a model, nested models included, in order. */
export function allLayers(model: tfl.LayersModel): Layer[] {
  const out: Layer[] = [];
  const visit = (layers: Layer[]) => {
    for (const l of layers) {
      out.push(l);
      const inner = (l as unknown as { layers?: Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  visit(model.layers);
  return out;
}

/** The layer called `name`; a name that matches nothing fails and lists the layers. */
export function findLayer(model: tfl.LayersModel, name: string, what = 'layer'): Layer {
  const layers = allLayers(model);
  const found = layers.find((l) => l.name === name);
  if (found) return found;
  const names = layers.map((l) => l.name);
  const suggestion = didYouMean(name, names);
  throw new TfpipeError('E_USAGE', `explain: ${what} received "${name}"; the model has ${names.join(', ')}`, {
    ...(suggestion ? { hint: `did you mean "${suggestion}"?` } : {}),
  });
}

function className(l: Layer): string {
  return l.getClassName();
}

const CONV = /^(Conv1D|Conv2D|SeparableConv2D|DepthwiseConv2D|Conv2DTranspose)$/;

/** The last convolution of the model (Grad-CAM's default layer). */
export function lastConvLayer(model: tfl.LayersModel): Layer {
  const convs = allLayers(model).filter((l) => CONV.test(className(l)));
  const last = convs[convs.length - 1];
  if (!last) {
    throw new TfpipeError('E_USAGE', 'explain: Grad-CAM needs a convolutional model; this one has no convolution', {
      hint: `layers: ${allLayers(model)
        .map((l) => `${l.name} (${className(l)})`)
        .join(', ')}`,
    });
  }
  return last;
}

/** The first embedding layer reached from input `inputName` (token ids are explained through it, as Ludwig does). */
export function embeddingFor(model: tfl.LayersModel, inputName: string): Layer {
  const start = model.inputLayers.find((l) => l.name === inputName);
  if (!start) {
    // A Sequential model has no named input layer: its one input feeds the first layers.
    const first = model.inputLayers.length === 0 ? allLayers(model).find((l) => /Embedding/.test(className(l))) : undefined;
    if (first) return first;
    throw new TfpipeError('E_USAGE', `explain: the model has no input "${inputName}" read by an embedding layer`);
  }
  const seen = new Set<Layer>();
  const queue: Layer[] = [start];
  while (queue.length > 0) {
    const layer = queue.shift()!;
    if (seen.has(layer)) continue;
    seen.add(layer);
    if (layer !== start && /Embedding/.test(className(layer))) return layer;
    for (const node of layer.outboundNodes) queue.push(node.outboundLayer as Layer);
  }
  throw new TfpipeError(
    'E_USAGE',
    `explain: input "${inputName}" holds token ids and no embedding layer reads it; token ids cannot be differentiated`,
  );
}

/**
 * Runs `fn` with each layer's `call` replaced by a function returning the given tensor (Captum's layer hook):
 * the rest of the network then runs on that value, so gradients can be taken with respect to a layer's output.
 */
export function withLayerOutputs<T>(layers: Layer[], values: tf.Tensor[], fn: () => T): T {
  // A clone: tfjs-layers' executor disposes intermediate outputs once consumed; the caller's tensor must survive.
  return patched(layers, (_orig, i) => () => values[i]!.clone(), fn);
}

/** Runs `fn` and returns what each layer output during it (the last call's value); the caller disposes them. */
export function captureLayerOutputs<T>(
  layers: Layer[],
  fn: () => T,
  keep: (t: tf.Tensor) => tf.Tensor,
): { result: T; outputs: tf.Tensor[] } {
  const outputs: tf.Tensor[] = [];
  const result = patched(
    layers,
    (orig, i) => (inputs, kwargs) => {
      const out = orig(inputs, kwargs);
      const single = Array.isArray(out) ? out[0]! : out;
      outputs[i]?.dispose();
      // A clone: the graph executor may dispose the layer's own output once it has been consumed.
      outputs[i] = keep(single.clone());
      return out;
    },
    fn,
  );
  return { result, outputs };
}

function patched<T>(layers: Layer[], make: (orig: CallFn, i: number) => CallFn, fn: () => T): T {
  const saved = layers.map((l) => {
    const own = Object.hasOwn(l, 'call');
    const record = l as unknown as { call: CallFn };
    return { own, call: record.call };
  });
  layers.forEach((l, i) => {
    const orig = saved[i]!.call.bind(l);
    (l as unknown as { call: CallFn }).call = make(orig, i);
  });
  try {
    return fn();
  } finally {
    layers.forEach((l, i) => {
      const record = l as unknown as { call?: CallFn };
      if (saved[i]!.own) record.call = saved[i]!.call;
      else delete record.call;
    });
  }
}

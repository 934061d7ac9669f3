import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';

/** Model inputs: one tensor, or one per named input (multi-input fusion models). Batch first. */
export type Inputs = tf.Tensor | Record<string, tf.Tensor>;

/** Any differentiable model: a tfjs-layers model, or a function from named inputs to outputs [batch, k]. */
export type Explainable = tfl.LayersModel | ((inputs: Record<string, tf.Tensor>) => tf.Tensor);

/** Which output to explain: the class index per example (default: the predicted class; 0 for one output unit). */
export type Target = number | readonly number[];

/** Options shared by every gradient method. */
export interface TargetOptions {
  /** Class (output unit) to explain, one for all or one per example. Default: the predicted class. */
  target?: Target;
  /** For a model with several outputs, the output's name. */
  output?: string;
  /**
   * Explain the output layer's logits (before its sigmoid or softmax) instead of the probabilities. A saturated
   * sigmoid makes the path integrand a narrow spike; its logit is smooth, so IG needs far fewer steps.
   */
  logits?: boolean;
}

/** A model reduced to one forward function over named inputs, with its input names in order. */
export interface Forward {
  names: string[];
  model?: tfl.LayersModel;
  run(inputs: Record<string, tf.Tensor>): tf.Tensor;
}

/** The model's input names (a Sequential model gets its input layer when built). */
function inputNames(model: tfl.LayersModel): string[] {
  if (model.inputLayers.length === 0 && model instanceof tfl.Sequential) model.build();
  const names = model.inputLayers.map((l) => l.name);
  return names.length > 0 ? names : [SINGLE_INPUT];
}

/** The name of the one input of a model (or function) whose inputs are not named. */
export const SINGLE_INPUT = 'input';

/** Wraps a model (or function) into a `Forward` whose output is the chosen output, rank 2 [batch, k]. */
export function forwardOf(model: Explainable, output?: string, logits = false): Forward {
  if (typeof model === 'function') {
    return { names: [], run: (inputs) => toRank2(model(inputs)) };
  }
  const names = inputNames(model);
  const outputNames = model.outputNames;
  let index = 0;
  if (output !== undefined) {
    index = outputNames.indexOf(output);
    if (index < 0) {
      throw new TfpipeError('E_USAGE', `explain: output received "${output}"; expected one of ${list(outputNames)}`);
    }
  } else if (outputNames.length > 1) {
    throw new TfpipeError('E_USAGE', `explain: the model has ${outputNames.length} outputs; choose one`, {
      hint: `pass output: ${list(outputNames)}`,
    });
  }
  const head = logits ? logitLayer(model, index) : undefined;
  const plain = (inputs: Record<string, tf.Tensor>): tf.Tensor => {
    const ordered = names.map((n) => {
      const t = inputs[n];
      if (!t) throw new TfpipeError('E_USAGE', `explain: missing input "${n}"; the model takes ${list(names)}`);
      return t;
    });
    const out = model.apply(ordered.length === 1 ? ordered[0]! : ordered, { training: false }) as
      | tf.Tensor
      | tf.Tensor[];
    return toRank2(Array.isArray(out) ? out[index]! : out);
  };
  return {
    names,
    model,
    run: (inputs) => (head ? withLinearActivation(head, () => plain(inputs)) : plain(inputs)),
  };
}

type WithActivation = { activation?: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string } };

/** The output layer whose activation is dropped for `logits: true`: it must end in a sigmoid or softmax. */
function logitLayer(model: tfl.LayersModel, index: number): WithActivation {
  const layer = model.outputLayers[index] as unknown as WithActivation & { name: string };
  const kind = layer.activation?.getClassName();
  if (kind !== 'sigmoid' && kind !== 'softmax') {
    throw new TfpipeError(
      'E_USAGE',
      `explain: logits needs an output layer ending in sigmoid or softmax; "${layer.name}" has ${kind ?? 'no activation'}`,
    );
  }
  return layer;
}

function withLinearActivation<T>(layer: WithActivation, fn: () => T): T {
  const saved = layer.activation!;
  layer.activation = { apply: (x) => x, getClassName: () => 'linear' };
  try {
    return fn();
  } finally {
    layer.activation = saved;
  }
}

function toRank2(t: tf.Tensor): tf.Tensor {
  if (t.rank === 2) return t;
  if (t.rank === 1) return tf.expandDims(t, 1);
  throw new TfpipeError('E_USAGE', `explain: a model output of rank 1 or 2 is needed; received shape [${t.shape}]`);
}

function list(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(' | ');
}

/** Named inputs from a tensor or a record, checked against the model's input names. */
export function namedInputs(forward: Forward, x: Inputs): Record<string, tf.Tensor> {
  if (x instanceof tf.Tensor) {
    if (forward.names.length > 1) {
      throw new TfpipeError('E_USAGE', `explain: the model takes ${list(forward.names)}; pass a record of tensors`);
    }
    return { [forward.names[0] ?? SINGLE_INPUT]: x };
  }
  for (const n of forward.names) {
    if (!(n in x)) throw new TfpipeError('E_USAGE', `explain: missing input "${n}"; the model takes ${list(forward.names)}`);
  }
  return x;
}

/** Batch size of named inputs (all must agree). */
export function batchSize(inputs: Record<string, tf.Tensor>): number {
  let n: number | undefined;
  for (const [name, t] of Object.entries(inputs)) {
    const b = t.shape[0]!;
    if (n !== undefined && b !== n) {
      throw new TfpipeError('E_USAGE', `explain: input "${name}" has batch ${b}; the others have ${n}`);
    }
    n = b;
  }
  if (n === undefined) throw new TfpipeError('E_USAGE', 'explain: no inputs given');
  return n;
}

/** Resolves the explained class per example: given, or the argmax of the model's output. */
export function resolveTargets(forward: Forward, inputs: Record<string, tf.Tensor>, target?: Target): number[] {
  const n = batchSize(inputs);
  const k = tf.tidy(() => forward.run(inputs).shape[1]!);
  if (target === undefined) {
    if (k === 1) return new Array(n).fill(0);
    const argmax = tf.tidy(() => tf.argMax(forward.run(inputs), 1));
    const out = Array.from(argmax.dataSync() as Int32Array);
    argmax.dispose();
    return out;
  }
  const targets = typeof target === 'number' ? new Array<number>(n).fill(target) : [...target];
  if (targets.length !== n) {
    throw new TfpipeError('E_USAGE', `explain: target has ${targets.length} entries; expected one per example (${n})`);
  }
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= k) {
      throw new TfpipeError('E_USAGE', `explain: target received ${t}; expected an integer in 0..${k - 1}`);
    }
  }
  return targets;
}

/** The explained output per row, [batch]: out[i, targets[i]]. */
export function pickTarget(out: tf.Tensor, targets: readonly number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const k = out.shape[1]!;
    if (k === 1) return tf.reshape(out, [out.shape[0]!]) as tf.Tensor1D;
    const mask = tf.oneHot(tf.tensor1d(targets as number[], 'int32'), k);
    return tf.sum(tf.mul(out, mask), 1) as tf.Tensor1D;
  });
}

/** Row `i` of every input, batch 1. */
export function rowOf(inputs: Record<string, tf.Tensor>, i: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) out[name] = tf.slice(t, i, 1);
  return out;
}

/** `t` (batch 1) repeated `m` times along the batch axis. */
export function tileRows(t: tf.Tensor, m: number): tf.Tensor {
  return tf.tile(t, [m, ...new Array(t.rank - 1).fill(1)]);
}

/** True for inputs that cannot be differentiated (token ids): they are explained through their embedding. */
export function isIntInput(t: tf.Tensor): boolean {
  return t.dtype === 'int32' || t.dtype === 'bool';
}

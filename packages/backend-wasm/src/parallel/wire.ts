import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ShardLoss } from './shard-loss.js';

/** A tensor as it crosses a thread boundary: its values (own buffer, transferred) and shape. */
export interface WireTensor {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

/** Where each weight (model.weights order) sits in the shared float32 weight buffer. */
export interface WeightSlot {
  offset: number;
  size: number;
  shape: number[];
}

/** The messages between the main thread and a worker. */
export type ToWorker =
  | { type: 'step'; id: number; version: number; xs: WireTensor[]; ys: WireTensor[]; sampleWeight?: WireTensor; predictions: boolean }
  | { type: 'exit' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; loss: number; grads: (Float32Array | null)[]; predictions?: WireTensor; ms: number }
  | { type: 'error'; id?: number; message: string; stack?: string };

/** Copies a tensor's values out (a fresh buffer that can be transferred). */
export function toWire(t: tf.Tensor): WireTensor {
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw new Error(`cannot send a ${t.dtype} tensor to a worker`);
  }
  const src = t.dataSync() as Float32Array | Int32Array | Uint8Array;
  // dataSync may return the backend's own array (cpu): copy so the transfer never detaches it.
  return { data: src.slice(), shape: t.shape.slice(), dtype: t.dtype };
}

export function fromWire(w: WireTensor): tf.Tensor {
  return tf.tensor(w.data, w.shape, w.dtype);
}

/** Buffers to transfer (not copy) with a message. */
export function transferList(ws: (WireTensor | undefined)[]): ArrayBuffer[] {
  return ws.filter((w): w is WireTensor => w !== undefined).map((w) => w.data.buffer as ArrayBuffer);
}

/** The model's trainable tf.Variables (LayerVariable.read() returns the variable itself). */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Float32 layout of `model.weights` in one shared buffer. */
export function weightLayout(model: tfl.LayersModel): { slots: WeightSlot[]; total: number } {
  let offset = 0;
  const slots = model.weights.map((w) => {
    const size = w.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
    const slot = { offset, size, shape: w.shape.map((d) => d ?? 1) };
    offset += size;
    return slot;
  });
  return { slots, total: offset };
}

/**
 * Loss and gradients of one shard: forward with training=true (dropout, batch norm in training mode), the
 * shard loss, gradients of `vars`. Gradients come back in `vars` order; undefined where the loss does not
 * reach a variable; `predictions` (the first output) when `keepPredictions`. The caller owns the returned tensors.
 */
export function shardGradients(
  model: tfl.LayersModel,
  vars: tf.Variable[],
  xs: tf.Tensor[],
  ys: tf.Tensor[],
  sampleWeight: tf.Tensor | undefined,
  loss: ShardLoss,
  keepPredictions = false,
): { value: tf.Scalar; grads: (tf.Tensor | undefined)[]; predictions?: tf.Tensor } {
  let predictions: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(xs.length === 1 ? xs[0]! : xs, { training: true }) as tf.Tensor | tf.Tensor[];
    const preds = Array.isArray(out) ? out : [out];
    if (keepPredictions) predictions = tf.keep(preds[0]!);
    return loss(ys, preds, sampleWeight);
  }, vars);
  return { value, grads: vars.map((v) => grads[v.name]), ...(predictions ? { predictions } : {}) };
}

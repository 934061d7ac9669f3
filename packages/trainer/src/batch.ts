import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, TfpipeError, type Tensors } from '@tfpipe/core';

/** Every tensor of a batch (to dispose them once). */
export function batchTensors(b: Batch): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const add = (t: Tensors) => {
    if (t instanceof tf.Tensor) out.push(t);
    else out.push(...Object.values(t));
  };
  add(b.xs);
  add(b.ys);
  if (b.sampleWeight) out.push(b.sampleWeight);
  return out;
}

/** Disposes the tensors of several batches, each once (a perturbed batch may share tensors). */
export function disposeBatches(...batches: (Batch | undefined)[]): void {
  const seen = new Set<tf.Tensor>();
  for (const b of batches) if (b) for (const t of batchTensors(b)) seen.add(t);
  for (const t of seen) if (!t.isDisposed) t.dispose();
}

/** Rows in a batch (first dimension of its targets). */
export function batchSize(b: Batch): number {
  const t = b.ys instanceof tf.Tensor ? b.ys : Object.values(b.ys)[0];
  return t?.shape[0] ?? 0;
}

/** Output names: tfjs fills `outputNames` of a Sequential model only once it is compiled. */
export function outputNamesOf(model: tfl.LayersModel): string[] {
  return model.outputNames.length ? model.outputNames : model.outputs.map((o) => o.sourceLayer.name);
}

/** Input names (see outputNamesOf). */
export function inputNamesOf(model: tfl.LayersModel): string[] {
  return model.inputNames.length ? model.inputNames : model.inputs.map((i) => i.sourceLayer.name);
}

/** Inputs in the order the model declares them; named inputs are matched by name. */
export function modelInputs(model: tfl.LayersModel, xs: Tensors): tf.Tensor | tf.Tensor[] {
  if (xs instanceof tf.Tensor) return xs;
  const names = inputNamesOf(model);
  const keys = Object.keys(xs);
  if (names.length === 1 && keys.length === 1) return xs[keys[0]!]!;
  const list = names.map((n) => {
    const t = xs[n];
    if (!t) throw new TfpipeError('E_MODEL', `the model expects an input named "${n}"; the batch has ${keys.join(', ')}`);
    return t;
  });
  return list.length === 1 ? list[0]! : list;
}

/** Targets in the order of the model's outputs; named targets are matched by output name. */
export function modelTargets(outputNames: readonly string[], ys: Tensors): tf.Tensor[] {
  if (ys instanceof tf.Tensor) {
    if (outputNames.length !== 1) {
      throw new TfpipeError('E_DATA', `the model has ${outputNames.length} outputs (${outputNames.join(', ')}); the batch gives one target tensor`, {
        hint: 'Give ys as a record keyed by output name.',
      });
    }
    return [ys];
  }
  const keys = Object.keys(ys);
  if (outputNames.length === 1 && keys.length === 1) return [ys[keys[0]!]!];
  return outputNames.map((n) => {
    const t = ys[n];
    if (!t) throw new TfpipeError('E_DATA', `no target for the model output "${n}"; the batch has ${keys.join(', ')}`);
    return t;
  });
}

/** Concatenates two batches along the batch axis (adversarial examples appended to the clean ones). */
export function concatBatches(a: Batch, b: Batch): Batch {
  const cat = (x: Tensors, y: Tensors): Tensors => {
    if (x instanceof tf.Tensor && y instanceof tf.Tensor) return tf.concat([x, y], 0);
    if (x instanceof tf.Tensor || y instanceof tf.Tensor) throw new TfpipeError('E_DATA', 'perturb returned a batch shaped unlike its input');
    return Object.fromEntries(Object.keys(x).map((k) => [k, tf.concat([x[k]!, y[k]!], 0)]));
  };
  const out: Batch = { xs: cat(a.xs, b.xs), ys: cat(a.ys, b.ys) };
  if (a.sampleWeight || b.sampleWeight) {
    const wa = a.sampleWeight ?? tf.ones([batchSize(a)]);
    const wb = b.sampleWeight ?? tf.ones([batchSize(b)]);
    out.sampleWeight = tf.concat([wa, wb], 0) as tf.Tensor1D;
    if (!a.sampleWeight) wa.dispose();
    if (!b.sampleWeight) wb.dispose();
  }
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError, type Batch } from '@tfpipe/core';

/** Orders named inputs the way the model declares them (tfjs-layers predict takes a list). */
export function modelInputs(model: tfl.LayersModel, xs: Batch['xs']): tf.Tensor | tf.Tensor[] {
  if (xs instanceof tf.Tensor) return xs;
  const names = model.inputNames;
  if (names.length === 1 && Object.keys(xs).length === 1) return Object.values(xs)[0]!;
  return names.map((n) => {
    const t = xs[n];
    if (!t) throw new TfpipeError('E_MODEL', `the model expects an input named "${n}"; the data has ${Object.keys(xs).join(', ')}`);
    return t;
  });
}

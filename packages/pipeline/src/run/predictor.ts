import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from '@tfpipe/core';
import type { Predictor } from '@tfpipe/evaluate';
import { modelInputs } from './inputs.js';

/**
 * Adapts a layers model to evaluate's Predictor, ordering named inputs the way the model declares them.
 * With a tensorizer, regression outputs come back in original units (its target scaling inverted), to be
 * compared with batches made by `toBatch(rows, { scaleTargets: false })`.
 */
export function predictorFor(model: tfl.LayersModel, tensorizer?: { unscale(t: tf.Tensor): tf.Tensor; targetScaling?: unknown }): Predictor {
  const unscale = tensorizer?.targetScaling ? tensorizer : undefined;
  return {
    inputNames: model.inputNames,
    // predictOnBatch runs the batch whole; predict() would split it into 32-sample pieces (1.5x slower, MNIST CNN).
    predict: (x) => {
      const xs = (Array.isArray(x) ? Object.fromEntries(model.inputNames.map((n, i) => [n, x[i]!])) : x) as Batch['xs'];
      const out = model.predictOnBatch(modelInputs(model, xs)) as tf.Tensor | tf.Tensor[];
      if (!unscale || Array.isArray(out)) return out;
      const y = unscale.unscale(out);
      out.dispose();
      return y;
    },
  };
}


import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { forwardOf, type Inputs, namedInputs, pickTarget, resolveTargets, type TargetOptions } from './forward.js';
import { captureLayerOutputs, findLayer, lastConvLayer, withLayerOutputs } from './hooks.js';

export interface GradCamOptions extends TargetOptions {
  /** The convolution whose feature maps are weighted; default: the model's last convolution. */
  layer?: string;
  /** Resize the map to the input's spatial size (bilinear), default true; false keeps the layer's resolution. */
  upsample?: boolean;
  /** With several inputs, the image input the map is resized to. */
  input?: string;
}

export interface GradCamResult {
  /** [batch, h, w] (2-D convolutions) or [batch, length] (1-D), ≥ 0; the caller disposes it. */
  heatmap: tf.Tensor;
  targets: number[];
  /** The layer used. */
  layer: string;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A^k) with α_k the spatial mean of ∂f_target/∂A^k, for the
 * feature maps A of a convolution.
 */
export function gradCam(model: tfl.LayersModel, x: Inputs, options: GradCamOptions = {}): GradCamResult {
  const forward = forwardOf(model, options.output, options.logits);
  const inputs = namedInputs(forward, x);
  const targets = resolveTargets(forward, inputs, options.target);
  const layer = options.layer !== undefined ? findLayer(model, options.layer) : lastConvLayer(model);
  const captured = captureLayerOutputs([layer], () => tf.tidy(() => forward.run(inputs)), tf.keep);
  captured.result.dispose();
  const maps = captured.outputs[0]!;
  try {
    if (maps.rank !== 4 && maps.rank !== 3) {
      throw new TfpipeError(
        'E_USAGE',
        `explain: Grad-CAM needs feature maps [batch, h, w, c] or [batch, length, c]; layer "${layer.name}" outputs [${maps.shape}]`,
      );
    }
    const heatmap = tf.tidy(() => {
      const [g] = tf.grads((a: tf.Tensor) =>
        withLayerOutputs([layer], [a], () => tf.sum(pickTarget(forward.run(inputs), targets))),
      )([maps]);
      const spatial = maps.rank === 4 ? [1, 2] : [1];
      const alpha = tf.mean(g!, spatial, true);
      const cam = tf.relu(tf.sum(tf.mul(maps, alpha), -1));
      if (options.upsample === false) return cam;
      const image = imageInput(inputs, options.input, maps.rank);
      if (!image) return cam;
      if (maps.rank === 4) {
        return tf.squeeze(
          tf.image.resizeBilinear(tf.expandDims(cam, -1) as tf.Tensor4D, [image.shape[1]!, image.shape[2]!]),
          [3],
        );
      }
      const resized = tf.image.resizeBilinear(tf.reshape(cam, [cam.shape[0]!, cam.shape[1]!, 1, 1]) as tf.Tensor4D, [
        image.shape[1]!,
        1,
      ]);
      return tf.reshape(resized, [cam.shape[0]!, image.shape[1]!]);
    });
    return { heatmap, targets, layer: layer.name };
  } finally {
    maps.dispose();
  }
}

function imageInput(inputs: Record<string, tf.Tensor>, name: string | undefined, rank: number): tf.Tensor | undefined {
  if (name !== undefined) {
    const t = inputs[name];
    if (!t) throw new TfpipeError('E_USAGE', `explain: Grad-CAM input received "${name}"; the model takes ${Object.keys(inputs).join(', ')}`);
    return t;
  }
  const candidates = Object.values(inputs).filter((t) => t.rank === rank);
  return candidates.length === 1 ? candidates[0] : undefined;
}

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed } from '@tfpipe/core';
import { type InitializerSpec, makeInitializer } from '../_common.js';

export type SequencePoolingMode = 'mean' | 'max' | 'first';

/**
 * Pools a sequence [b, l, d] to [b, d] over the real tokens only: inputs `[x, ids]`, padding is id 0.
 * `first` takes position 0 (a [CLS]-style token).
 */
export class MaskedSequencePooling extends tfl.layers.Layer {
  static className = 'TfpipeMaskedSequencePooling';
  readonly mode: SequencePoolingMode;

  constructor(args: { mode: SequencePoolingMode; name?: string }) {
    super(args);
    this.mode = args.mode;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const x = inputShape[0] as tfl.Shape;
    return [x[0]!, x[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, ids] = inputs as tf.Tensor[];
      if (this.mode === 'first') return tf.squeeze(tf.slice(x!, [0, 0, 0], [-1, 1, -1]), [1]);
      const m = tf.expandDims(tf.cast(tf.notEqual(ids!, 0), 'float32'), -1); // [b, l, 1]
      if (this.mode === 'max') return tf.max(tf.add(x!, tf.mul(tf.sub(1, m), -1e9)), 1);
      const count = tf.maximum(tf.sum(m, 1), 1); // an all-padding row pools to zeros, not NaN
      return tf.div(tf.sum(tf.mul(x!, m), 1), count);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}

/**
 * Attention pooling over a set of vectors (one per fused input, each [b, d]):
 * score_i = q · tanh(W e_i + c), weights = softmax over i, output = Σ weights_i e_i → [b, d].
 */
export class AttentionPooling extends tfl.layers.Layer {
  static className = 'TfpipeAttentionPooling';
  readonly seed: number;
  readonly kernelInitializer: InitializerSpec;
  private w: { kernel: tfl.LayerVariable; bias: tfl.LayerVariable; query: tfl.LayerVariable } | undefined;

  constructor(args: { seed: number; kernelInitializer?: InitializerSpec; name?: string }) {
    super(args);
    this.seed = args.seed;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const first = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const d = first[first.length - 1] as number;
    const init = (i: number) => makeInitializer(this.kernelInitializer, hashSeed(`${this.seed}:${i}`));
    this.w = {
      kernel: this.addWeight('kernel', [d, d], 'float32', init(0), undefined, true),
      bias: this.addWeight('bias', [d], 'float32', tfl.initializers.zeros(), undefined, true),
      query: this.addWeight('query', [d, 1], 'float32', init(1), undefined, true),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const e = tf.stack(list, 1) as tf.Tensor3D; // [b, n, d]
      const [b, n, d] = e.shape;
      const flat = tf.reshape(e, [b * n, d]);
      const hidden = tf.tanh(
        tf.add(tf.matMul(flat, this.w!.kernel.read() as tf.Tensor2D), this.w!.bias.read()),
      );
      const scores = tf.reshape(tf.matMul(hidden, this.w!.query.read() as tf.Tensor2D), [b, n]);
      const weights = tf.expandDims(tf.softmax(scores, -1), -1); // [b, n, 1]
      return tf.sum(tf.mul(e, weights), 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      seed: this.seed,
      kernelInitializer: this.kernelInitializer as tf.serialization.ConfigDictValue,
    };
  }
}

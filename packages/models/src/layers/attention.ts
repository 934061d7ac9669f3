import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed } from '@tfpipe/core';
import { type InitializerSpec, makeInitializer, makeRegularizer, type Regularization } from '../_common.js';

export interface MultiHeadSelfAttentionArgs {
  numHeads: number;
  keyDim: number;
  seed: number;
  kernelInitializer?: InitializerSpec;
  regularization?: Regularization;
  name?: string;
}

/** x [b, l, d] · W [d, n] + bias → [b, l, n]. */
export function projectSequence(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  const [b, l, d] = x.shape as [number, number, number];
  return tf.reshape(tf.add(tf.matMul(tf.reshape(x, [b * l, d]), kernel as tf.Tensor2D), bias), [
    b,
    l,
    kernel.shape[1]!,
  ]);
}

/** An additive mask [b, 1, 1, l]: 0 for real tokens, -1e9 for padding (token id 0). */
export function paddingBias(ids: tf.Tensor): tf.Tensor4D {
  const [b, l] = ids.shape as [number, number];
  return tf.reshape(tf.mul(tf.cast(tf.equal(ids, 0), 'float32'), -1e9), [b, 1, 1, l]);
}

/**
 * Multi-head scaled dot-product self-attention: softmax(Q K^T / sqrt(keyDim) + mask) V per head, heads
 * concatenated and projected back to the model width. Inputs: `x` [b, l, d], or `[x, ids]` where `ids`
 * [b, l] are the token ids: keys whose id is 0 (padding) get no attention.
 */
export class MultiHeadSelfAttention extends tfl.layers.Layer {
  static className = 'TfpipeMultiHeadSelfAttention';
  readonly numHeads: number;
  readonly keyDim: number;
  readonly seed: number;
  readonly kernelInitializer: InitializerSpec;
  readonly regularization: Regularization | undefined;
  private w: Record<'qk' | 'qb' | 'kk' | 'kb' | 'vk' | 'vb' | 'ok' | 'ob', tfl.LayerVariable> | undefined;

  constructor(args: MultiHeadSelfAttentionArgs) {
    super(args);
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.seed = args.seed;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    this.regularization = args.regularization;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const xShape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const d = xShape[xShape.length - 1] as number;
    const inner = this.numHeads * this.keyDim;
    const reg = makeRegularizer(this.regularization);
    const kernel = (name: string, shape: number[], i: number) =>
      this.addWeight(
        name,
        shape,
        'float32',
        makeInitializer(this.kernelInitializer, hashSeed(`${this.seed}:${i}`)),
        reg,
        true,
      );
    const bias = (name: string, n: number) =>
      this.addWeight(name, [n], 'float32', tfl.initializers.zeros(), undefined, true);
    this.w = {
      qk: kernel('query_kernel', [d, inner], 0),
      qb: bias('query_bias', inner),
      kk: kernel('key_kernel', [d, inner], 1),
      kb: bias('key_bias', inner),
      vk: kernel('value_kernel', [d, inner], 2),
      vb: bias('value_bias', inner),
      ok: kernel('output_kernel', [inner, d], 3),
      ob: bias('output_bias', d),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, ids] = Array.isArray(inputs) ? [inputs[0]!, inputs[1]] : [inputs, undefined];
      const w = this.w!;
      const [b, l] = x.shape as [number, number, number];
      const h = this.numHeads;
      const k = this.keyDim;
      // [b, l, h*k] → [b, h, l, k]
      const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, l, h, k]), [0, 2, 1, 3]);
      const q = heads(projectSequence(x, w.qk.read(), w.qb.read()));
      const key = heads(projectSequence(x, w.kk.read(), w.kb.read()));
      const v = heads(projectSequence(x, w.vk.read(), w.vb.read()));
      let scores = tf.div(tf.matMul(q, key, false, true), Math.sqrt(k));
      if (ids) scores = tf.add(scores, paddingBias(ids));
      const attn = tf.softmax(scores, -1);
      const out = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b, l, h * k]);
      return projectSequence(out, w.ok.read(), w.ob.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      seed: this.seed,
      kernelInitializer: this.kernelInitializer as tf.serialization.ConfigDictValue,
      ...(this.regularization ? { regularization: this.regularization } : {}),
    };
  }
}

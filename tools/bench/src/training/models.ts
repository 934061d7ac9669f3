// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The bench's models, built directly with tfjs-layers; tools/bench/src/training/torch_bench.py mirrors each one. */
export type ModelKind = 'mnist-cnn' | 'tabular-mlp' | 'text-lstm' | 'text-transformer';

export const TEXT = { vocab: 2000, seqLen: 48, classes: 2 } as const;
export const TABULAR = { features: 32, classes: 4 } as const;

const init = (seed: number) => tfl.initializers.glorotUniform({ seed });

export function buildModel(kind: ModelKind): tfl.LayersModel {
  const m = tfl.sequential();
  switch (kind) {
    case 'mnist-cnn':
      m.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1], kernelInitializer: init(1) }));
      m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
      m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }));
      break;
    case 'tabular-mlp':
      m.add(tfl.layers.dense({ units: 128, activation: 'relu', inputShape: [TABULAR.features], kernelInitializer: init(1) }));
      m.add(tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(2) }));
      m.add(tfl.layers.dense({ units: TABULAR.classes, activation: 'softmax', kernelInitializer: init(3) }));
      break;
    case 'text-lstm':
      m.add(tfl.layers.embedding({ inputDim: TEXT.vocab, outputDim: 32, inputLength: TEXT.seqLen, embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 1 }) }));
      m.add(tfl.layers.lstm({ units: 64, kernelInitializer: init(2), recurrentInitializer: init(3) }));
      m.add(tfl.layers.dense({ units: TEXT.classes, activation: 'softmax', kernelInitializer: init(4) }));
      break;
    case 'text-transformer':
      m.add(tfl.layers.embedding({ inputDim: TEXT.vocab, outputDim: 64, inputLength: TEXT.seqLen, embeddingsInitializer: tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 1 }) }));
      m.add(new EncoderBlock({ heads: 4, ffn: 128, seed: 10 }));
      m.add(tfl.layers.globalAveragePooling1d());
      m.add(tfl.layers.dense({ units: TEXT.classes, activation: 'softmax', kernelInitializer: init(4) }));
      break;
  }
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return m;
}

/** A post-norm transformer encoder block (multi-head self-attention + ReLU MLP), like torch's TransformerEncoderLayer. */
class EncoderBlock extends tfl.layers.Layer {
  static readonly className = 'BenchEncoderBlock';
  private readonly heads: number;
  private readonly ffn: number;
  private readonly seed: number;
  private w: Record<string, tfl.LayerVariable> = {};

  constructor(args: { heads: number; ffn: number; seed: number }) {
    super({});
    this.heads = args.heads;
    this.ffn = args.ffn;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const d = (inputShape as number[])[2]!;
    const shapes: Record<string, number[]> = { qkv: [d, 3 * d], qkvB: [3 * d], o: [d, d], oB: [d], f1: [d, this.ffn], f1B: [this.ffn], f2: [this.ffn, d], f2B: [d], g1: [d], b1: [d], g2: [d], b2: [d] };
    let s = this.seed;
    for (const [name, shape] of Object.entries(shapes)) {
      const ini = name.startsWith('g') ? tfl.initializers.ones() : shape.length === 1 ? tfl.initializers.zeros() : init(s++);
      this.w[name] = this.addWeight(name, shape, 'float32', ini);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [b, t, d] = x.shape as [number, number, number];
      const h = this.heads;
      const v = (k: string) => this.w[k]!.read();
      const dense = (a: tf.Tensor, k: string) => tf.add(tf.matMul(a as tf.Tensor2D, v(k) as tf.Tensor2D), v(`${k}B`));
      const norm = (a: tf.Tensor, g: string, bias: string) => {
        const { mean, variance } = tf.moments(a, -1, true);
        return a.sub(mean).div(variance.add(1e-5).sqrt()).mul(v(g)).add(v(bias));
      };
      const flat = x.reshape([b * t, d]);
      const qkv = dense(flat, 'qkv').reshape([b, t, 3, h, d / h]).transpose([2, 0, 3, 1, 4]); // [3, b, h, t, dh]
      const [q, k, val] = tf.unstack(qkv);
      const att = tf.softmax(tf.matMul(q!, k!, false, true).div(Math.sqrt(d / h)));
      const ctx = tf.matMul(att, val!).transpose([0, 2, 1, 3]).reshape([b * t, d]);
      const x1 = norm(flat.add(dense(ctx, 'o')), 'g1', 'b1');
      const x2 = norm(x1.add(dense(tf.relu(dense(x1, 'f1')), 'f2')), 'g2', 'b2');
      return x2.reshape([b, t, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, ffn: this.ffn, seed: this.seed };
  }
}
tf.serialization.registerClass(EncoderBlock);

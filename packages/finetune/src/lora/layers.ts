import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, hashSeed, type Rng } from '@tfpipe/core';
import { MultiHeadSelfAttention } from '@tfpipe/models';

type MultiHeadSelfAttentionArgs = ConstructorParameters<typeof MultiHeadSelfAttention>[0];

/** What every LoRA layer carries: y = base(x) + (alpha / rank) · dropout(x) A B. */
export interface LoraOptions {
  rank: number;
  alpha: number;
  /** Dropout on the adapter's input (training only). */
  dropout?: number;
  /** Seeds A's initializer and the dropout masks. */
  seed: number;
}

/** A ~ U(-1/√in, 1/√in) (PEFT's kaiming_uniform(a=√5)), B = 0: the adapter starts as the identity. */
type AddWeight = (name: string, shape: number[], init: ReturnType<typeof tfl.initializers.zeros>) => tfl.LayerVariable;
function addAdapter(add: AddWeight, prefix: string, inDim: number, outDim: number, rank: number, seed: number) {
  const bound = 1 / Math.sqrt(inDim);
  const a = add(`${prefix}lora_a`, [inDim, rank], tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed }));
  const b = add(`${prefix}lora_b`, [rank, outDim], tfl.initializers.zeros());
  return { a, b };
}

/** (x [n, in] (dropout) · A) · B · scale. */
function adapterDelta(x: tf.Tensor2D, a: tfl.LayerVariable, b: tfl.LayerVariable, scale: number, rate: number, training: boolean, rng: Rng): tf.Tensor2D {
  const xd = training && rate > 0 ? tf.dropout(x, rate, undefined, rng.seed32()) : x;
  return tf.mul(tf.matMul(tf.matMul(xd as tf.Tensor2D, a.read() as tf.Tensor2D), b.read() as tf.Tensor2D), scale);
}

export interface LoraDenseArgs extends LoraOptions {
  units: number;
  activation?: string;
  useBias?: boolean;
  name?: string;
  trainable?: boolean;
}

/**
 * A Dense layer with a low-rank adapter: y = act(x W + b + (alpha/rank) · x A B). W and b are the base
 * layer's weights and never train (they sit with the non-trainable weights); only A [in, rank] and
 * B [rank, units] do. Weight names keep the Dense layer's (`<name>/kernel`, `<name>/bias`) so base
 * weights copy by name; the adapter's are `<name>/lora_a`, `<name>/lora_b`.
 */
export class LoraDense extends tfl.layers.Layer {
  static className = 'TfpipeLoraDense';
  readonly units: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly rank: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly seed: number;
  private readonly act: tfl.layers.Layer;
  private readonly rng: Rng;
  private w: { kernel: tfl.LayerVariable; bias?: tfl.LayerVariable; a: tfl.LayerVariable; b: tfl.LayerVariable } | undefined;

  constructor(args: LoraDenseArgs) {
    super(args);
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.rank = args.rank;
    this.alpha = args.alpha;
    this.dropout = args.dropout ?? 0;
    this.seed = args.seed;
    this.rng = createRng(hashSeed(`${args.seed}:dropout`));
    this.act = tfl.layers.activation({ activation: this.activation as 'linear' });
    this.supportsMasking = true;
  }

  /** alpha / rank. */
  get scale(): number {
    return this.alpha / this.rank;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inDim = shape[shape.length - 1] as number;
    const kernel = this.addWeight('kernel', [inDim, this.units], 'float32', tfl.initializers.zeros(), undefined, false);
    const bias = this.useBias ? this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros(), undefined, false) : undefined;
    const { a, b } = addAdapter((n, s, i) => this.addWeight(n, s, 'float32', i, undefined, true), '', inDim, this.units, this.rank, this.seed);
    this.w = { kernel, ...(bias ? { bias } : {}), a, b };
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const w = this.w!;
      const inDim = x.shape[x.shape.length - 1]!;
      const flat = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, w.kernel.read() as tf.Tensor2D);
      if (w.bias) y = tf.add(y, w.bias.read());
      y = tf.add(y, adapterDelta(flat, w.a, w.b, this.scale, this.dropout, kwargs.training === true, this.rng));
      y = tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
      return this.act.apply(y) as tf.Tensor;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      rank: this.rank,
      alpha: this.alpha,
      dropout: this.dropout,
      seed: this.seed,
    };
  }
}

/** The projections of self-attention an adapter can sit on. */
export const ATTENTION_PROJECTIONS = ['query', 'key', 'value', 'output'] as const;
export type AttentionProjection = (typeof ATTENTION_PROJECTIONS)[number];

export interface LoraSelfAttentionArgs extends MultiHeadSelfAttentionArgs {
  rank: number;
  alpha: number;
  loraDropout?: number;
  loraSeed: number;
  projections: AttentionProjection[];
  trainable?: boolean;
}

type Proj = { kernel: tfl.LayerVariable; bias: tfl.LayerVariable; a?: tfl.LayerVariable; b?: tfl.LayerVariable };

/**
 * @tfpipe/models' MultiHeadSelfAttention with LoRA adapters on some of its projections (query, key, value,
 * output): each chosen W gets + (alpha/rank) A B. The base projection weights never train; weight names are
 * the base layer's plus `<name>/<projection>_lora_a|b`. The math is the base layer's softmax(QKᵀ/√k + mask) V.
 */
export class LoraSelfAttention extends MultiHeadSelfAttention {
  static override className = 'TfpipeLoraSelfAttention';
  readonly rank: number;
  readonly alpha: number;
  readonly loraDropout: number;
  readonly loraSeed: number;
  readonly projections: AttentionProjection[];
  private readonly loraRng: Rng;
  private p: Record<AttentionProjection, Proj> | undefined;

  constructor(args: LoraSelfAttentionArgs) {
    super(args);
    this.rank = args.rank;
    this.alpha = args.alpha;
    this.loraDropout = args.loraDropout ?? 0;
    this.loraSeed = args.loraSeed;
    this.projections = [...args.projections];
    this.loraRng = createRng(hashSeed(`${args.loraSeed}:dropout`));
  }

  get scale(): number {
    return this.alpha / this.rank;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    super.build(inputShape);
    // The base weights are frozen for good: move them out of the trainable list so `trainable = true`
    // on the layer (unfreeze all) cannot turn them back on.
    const base = [...this.trainableWeights];
    for (const w of base) w.trainable = false;
    this.trainableWeights = [];
    this.nonTrainableWeights = base;
    const byName = new Map(base.map((w) => [w.originalName.split('/').pop()!, w]));
    const get = (n: string) => byName.get(n)!;
    const inner = this.numHeads * this.keyDim;
    const xShape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const d = xShape[xShape.length - 1] as number;
    const p = {} as Record<AttentionProjection, Proj>;
    ATTENTION_PROJECTIONS.forEach((name, i) => {
      const proj: Proj = { kernel: get(`${name}_kernel`), bias: get(`${name}_bias`) };
      if (this.projections.includes(name)) {
        const [inDim, outDim] = name === 'output' ? [inner, d] : [d, inner];
        Object.assign(proj, addAdapter((n, s, init) => this.addWeight(n, s, 'float32', init, undefined, true), `${name}_`, inDim, outDim, this.rank, hashSeed(`${this.loraSeed}:${i}`)));
      }
      p[name] = proj;
    });
    this.p = p;
    this.built = true;
  }

  private project(x: tf.Tensor, name: AttentionProjection, training: boolean): tf.Tensor3D {
    const [b, l, d] = x.shape as [number, number, number];
    const proj = this.p![name];
    const flat = tf.reshape(x, [b * l, d]) as tf.Tensor2D;
    let y: tf.Tensor = tf.add(tf.matMul(flat, proj.kernel.read() as tf.Tensor2D), proj.bias.read());
    if (proj.a && proj.b) y = tf.add(y, adapterDelta(flat, proj.a, proj.b, this.scale, this.loraDropout, training, this.loraRng));
    return tf.reshape(y, [b, l, y.shape[1]!]);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown> = {}): tf.Tensor {
    return tf.tidy(() => {
      const training = kwargs.training === true;
      const [x, ids] = Array.isArray(inputs) ? [inputs[0]!, inputs[1]] : [inputs, undefined];
      const [b, l] = x.shape as [number, number, number];
      const h = this.numHeads;
      const k = this.keyDim;
      const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, l, h, k]), [0, 2, 1, 3]);
      const q = heads(this.project(x, 'query', training));
      const key = heads(this.project(x, 'key', training));
      const v = heads(this.project(x, 'value', training));
      let scores = tf.div(tf.matMul(q, key, false, true), Math.sqrt(k));
      if (ids) scores = tf.add(scores, tf.reshape(tf.mul(tf.cast(tf.equal(ids, 0), 'float32'), -1e9), [b, 1, 1, l]));
      const attn = tf.softmax(scores, -1);
      const out = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b, l, h * k]);
      return this.project(out, 'output', training);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      rank: this.rank,
      alpha: this.alpha,
      loraDropout: this.loraDropout,
      loraSeed: this.loraSeed,
      projections: this.projections,
    };
  }
}

/** The custom layers of this package. */
export const FINETUNE_LAYERS = [LoraDense, LoraSelfAttention] as const;

/** Registers the LoRA layers with tf.serialization (idempotent): call before loading a model that has them. */
export function registerFinetuneLayers(): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of FINETUNE_LAYERS) {
    if (!(cls.className in known)) {
      tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
    }
  }
}

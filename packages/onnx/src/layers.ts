import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { type GraphBuilder, INT32, INT64, type Value } from './graph.js';

// biome-ignore lint/suspicious/noExplicitAny: layer configs are plain JSON of many shapes
type Config = Record<string, any>;

export interface LayerContext {
  g: GraphBuilder;
  layer: tfl.layers.Layer;
  className: string;
  config: Config;
  /** The layer's weights by short name (the part after the last '/'), as float32 data and shape. */
  weight(short: string): { data: Float32Array; shape: number[] } | undefined;
  /** Every weight, in the layer's order. */
  weights(): { name: string; data: Float32Array; shape: number[] }[];
}

export type Converter = (ctx: LayerContext, inputs: Value[]) => Value[];

const unsupported = (ctx: LayerContext, what: string): TfpipeError =>
  new TfpipeError('E_MODEL', `ONNX export: layer "${ctx.layer.name}" (${ctx.className}) ${what}`, {
    hint: 'Export supports the layers tfpipe\'s model zoo builds; open an issue with the layer\'s class to add it.',
  });

function need(ctx: LayerContext, short: string) {
  const w = ctx.weight(short);
  if (!w) throw unsupported(ctx, `has no weight named ${short}`);
  return w;
}

/** Applies a tfjs activation by its config name. */
export function activation(g: GraphBuilder, x: string, name: string | undefined, base: string, ctx?: LayerContext): string {
  switch ((name ?? 'linear').toLowerCase()) {
    case 'linear':
      return x;
    case 'relu':
      return g.op1('Relu', [x], base);
    case 'relu6':
      return g.op1('Clip', [x, g.scalar(0), g.scalar(6)], base);
    case 'sigmoid':
      return g.op1('Sigmoid', [x], base);
    case 'hardsigmoid':
      return g.op1('HardSigmoid', [x], base, { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'tanh':
      return g.op1('Tanh', [x], base);
    case 'softmax':
      return g.op1('Softmax', [x], base, { axis: -1 });
    case 'elu':
      return g.op1('Elu', [x], base, { alpha: { float: 1 } });
    case 'selu':
      return g.op1('Selu', [x], base, { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } });
    case 'softplus':
      return g.op1('Softplus', [x], base);
    case 'softsign':
      return g.op1('Softsign', [x], base);
    case 'swish':
      return g.op1('Mul', [x, g.op1('Sigmoid', [x], `${base}_sig`)], base);
    case 'mish':
      return g.op1('Mul', [x, g.op1('Tanh', [g.op1('Softplus', [x], `${base}_sp`)], `${base}_t`)], base);
    case 'gelu': {
      // 0.5 x (1 + erf(x / sqrt 2)), as tfjs-layers' gelu
      const e = g.op1('Erf', [g.op1('Mul', [x, g.scalar(Math.SQRT1_2)], `${base}_s`)], `${base}_erf`);
      return g.op1('Mul', [g.op1('Mul', [x, g.scalar(0.5)], `${base}_h`), g.op1('Add', [e, g.scalar(1)], `${base}_1p`)], base);
    }
    default:
      throw new TfpipeError('E_MODEL', `ONNX export: activation "${name}"${ctx ? ` of layer "${ctx.layer.name}" (${ctx.className})` : ''} is not supported`);
  }
}

/** x [..., in] · W [in, out] + b, then the activation. */
function dense(ctx: LayerContext, x: Value, kernel: { data: Float32Array; shape: number[] }, bias: { data: Float32Array } | undefined, act: string | undefined): Value {
  const { g, layer } = ctx;
  let y = g.op1('MatMul', [x.name, g.float(`${layer.name}/kernel`, kernel.data, kernel.shape)], `${layer.name}/matmul`);
  if (bias) y = g.op1('Add', [y, g.float(`${layer.name}/bias`, bias.data, [bias.data.length])], `${layer.name}/bias_add`);
  y = activation(g, y, act, `${layer.name}/act`, ctx);
  return { name: y, shape: [...x.shape.slice(0, -1), kernel.shape[1]!] };
}

/** The weight data of a tfjs kernel transposed by `perm` (NHWC kernels to ONNX's OIHW). */
function transposed(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const t = tf.transpose(tf.tensor(data, shape), perm);
    return { data: t.dataSync() as Float32Array, shape: t.shape };
  });
}

const pair = (v: number | number[] | undefined, d: number): number[] => (v === undefined ? [d, d] : Array.isArray(v) ? v : [v, v]);

function convPads(padding: string): Config {
  if (padding === 'valid') return { auto_pad: 'VALID' };
  if (padding === 'same') return { auto_pad: 'SAME_UPPER' };
  throw new TfpipeError('E_MODEL', `ONNX export: padding "${padding}" is not supported`);
}

/** A channels-last convolution or pooling: transposed to channels-first around the ONNX op (ORT folds the pairs). */
function channelsFirst(ctx: LayerContext, x: Value, spatial: 1 | 2, body: (xcf: string) => string, outChannels: number | undefined, outSpatial: number[]): Value {
  const { g, layer, config } = ctx;
  if (config.dataFormat && config.dataFormat !== 'channelsLast') throw unsupported(ctx, `uses dataFormat ${config.dataFormat}`);
  const toCf = spatial === 2 ? [0, 3, 1, 2] : [0, 2, 1];
  const toCl = spatial === 2 ? [0, 2, 3, 1] : [0, 2, 1];
  const cf = g.op1('Transpose', [x.name], `${layer.name}/to_nchw`, { perm: toCf });
  const y = body(cf);
  const out = g.op1('Transpose', [y], `${layer.name}/to_nhwc`, { perm: toCl });
  return { name: out, shape: [-1, ...outSpatial, outChannels ?? x.shape[x.shape.length - 1]!] };
}

function outSize(n: number, k: number, s: number, d: number, padding: string): number {
  if (n < 0) return -1;
  if (padding === 'same') return Math.ceil(n / s);
  return Math.floor((n - (k - 1) * d - 1) / s) + 1;
}

function conv(ctx: LayerContext, [x]: Value[], spatial: 1 | 2): Value[] {
  const { g, layer, config } = ctx;
  const kernel = need(ctx, 'kernel');
  const bias = config.useBias !== false ? ctx.weight('bias') : undefined;
  const k = spatial === 2 ? pair(config.kernelSize, 1) : [Array.isArray(config.kernelSize) ? config.kernelSize[0] : config.kernelSize];
  const s = spatial === 2 ? pair(config.strides, 1) : [Array.isArray(config.strides) ? config.strides[0] : (config.strides ?? 1)];
  const d = spatial === 2 ? pair(config.dilationRate, 1) : [Array.isArray(config.dilationRate) ? config.dilationRate[0] : (config.dilationRate ?? 1)];
  // tfjs kernel [kh, kw, in, out] (or [k, in, out]) → ONNX [out, in, kh, kw]
  const w = transposed(kernel.data, kernel.shape, spatial === 2 ? [3, 2, 0, 1] : [2, 1, 0]);
  const filters = kernel.shape[kernel.shape.length - 1]!;
  const inSpatial = x!.shape.slice(1, 1 + spatial);
  const outSpatial = inSpatial.map((n, i) => outSize(n, k[i]!, s[i]!, d[i]!, config.padding));
  const y = channelsFirst(
    ctx,
    x!,
    spatial,
    (cf) => {
      const inputs = [cf, g.float(`${layer.name}/kernel`, w.data, w.shape)];
      if (bias) inputs.push(g.float(`${layer.name}/bias`, bias.data, [bias.data.length]));
      return g.op1('Conv', inputs, `${layer.name}/conv`, { kernel_shape: k, strides: s, dilations: d, ...convPads(config.padding) });
    },
    filters,
    outSpatial,
  );
  const act = activation(g, y.name, config.activation, `${layer.name}/act`, ctx);
  return [{ name: act, shape: y.shape }];
}

function pool(ctx: LayerContext, [x]: Value[], spatial: 1 | 2, kind: 'MaxPool' | 'AveragePool'): Value[] {
  const { g, layer, config } = ctx;
  const k = spatial === 2 ? pair(config.poolSize, 2) : [Array.isArray(config.poolSize) ? config.poolSize[0] : (config.poolSize ?? 2)];
  const s = config.strides == null ? k : spatial === 2 ? pair(config.strides, 1) : [Array.isArray(config.strides) ? config.strides[0] : config.strides];
  const outSpatial = x!.shape.slice(1, 1 + spatial).map((n, i) => outSize(n, k[i]!, s[i]!, 1, config.padding ?? 'valid'));
  return [
    channelsFirst(ctx, x!, spatial, (cf) => g.op1(kind, [cf], `${layer.name}/pool`, { kernel_shape: k, strides: s, ...convPads(config.padding ?? 'valid') }), undefined, outSpatial),
  ];
}

function globalPool(ctx: LayerContext, [x]: Value[], spatial: 1 | 2, kind: 'ReduceMean' | 'ReduceMax'): Value[] {
  const axes = spatial === 2 ? [1, 2] : [1];
  const y = ctx.g.op1(kind, [x!.name], `${ctx.layer.name}/pool`, { axes, keepdims: 0 });
  return [{ name: y, shape: [-1, x!.shape[x!.shape.length - 1]!] }];
}

function batchNorm(ctx: LayerContext, [x]: Value[]): Value[] {
  const { g, layer, config } = ctx;
  const axis = config.axis ?? -1;
  const rank = x!.shape.length;
  if (axis !== -1 && axis !== rank - 1) throw unsupported(ctx, `normalizes axis ${axis}; only the last axis is supported`);
  const mean = need(ctx, 'moving_mean').data;
  const variance = need(ctx, 'moving_variance').data;
  const gamma = config.scale !== false ? ctx.weight('gamma')?.data : undefined;
  const beta = config.center !== false ? ctx.weight('beta')?.data : undefined;
  const eps = config.epsilon ?? 1e-3;
  const n = mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    scale[i] = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + eps);
    shift[i] = (beta ? beta[i]! : 0) - mean[i]! * scale[i]!;
  }
  const y = g.op1('Mul', [x!.name, g.float(`${layer.name}/scale`, scale, [n])], `${layer.name}/mul`);
  const z = g.op1('Add', [y, g.float(`${layer.name}/shift`, shift, [n])], `${layer.name}/add`);
  return [{ ...x!, name: z }];
}

/** LayerNorm over the last axis, decomposed (opset 13 has no LayerNormalization). */
export function layerNorm(g: GraphBuilder, x: string, base: string, eps: number, gamma?: Float32Array, beta?: Float32Array): string {
  const mean = g.op1('ReduceMean', [x], `${base}/mean`, { axes: [-1], keepdims: 1 });
  const centered = g.op1('Sub', [x, mean], `${base}/centered`);
  const variance = g.op1('ReduceMean', [g.op1('Mul', [centered, centered], `${base}/sq`)], `${base}/var`, { axes: [-1], keepdims: 1 });
  const std = g.op1('Sqrt', [g.op1('Add', [variance, g.scalar(eps)], `${base}/var_eps`)], `${base}/std`);
  let y = g.op1('Div', [centered, std], `${base}/norm`);
  if (gamma) y = g.op1('Mul', [y, g.float(`${base}/gamma`, gamma, [gamma.length])], `${base}/scaled`);
  if (beta) y = g.op1('Add', [y, g.float(`${base}/beta`, beta, [beta.length])], `${base}/shifted`);
  return y;
}

/** Token ids (float in tfjs) as int64, once per value. */
function idsInt64(g: GraphBuilder, x: Value, base: string): string {
  return g.op1('Cast', [x.name], `${base}/ids`, { to: INT64 });
}

function embedding(ctx: LayerContext, [x]: Value[]): Value[] {
  const { g, layer, config } = ctx;
  const table = need(ctx, 'embeddings');
  const ids = idsInt64(g, x!, layer.name);
  const y = g.op1('Gather', [g.float(`${layer.name}/embeddings`, table.data, table.shape), ids], `${layer.name}/gather`, { axis: 0 });
  return [{ name: y, shape: [...x!.shape, table.shape[1]!], ...(config.maskZero ? { maskIds: ids } : {}) }];
}

function identity(_ctx: LayerContext, inputs: Value[]): Value[] {
  return [inputs[0]!];
}

function reorderGates(data: Float32Array, shape: number[], units: number, order: number[]): Float32Array {
  // shape [in, G*units]: column blocks of `units` reordered to `order`, then transposed to [G*units, in].
  return tf.tidy(() => {
    const t = tf.tensor2d(data, shape as [number, number]);
    const blocks = tf.split(t, shape[1]! / units, 1);
    return tf.transpose(tf.concat(order.map((i) => blocks[i]!), 1)).dataSync() as Float32Array;
  });
}

interface RnnWeights {
  W: Float32Array;
  R: Float32Array;
  B: Float32Array;
}

/** One direction's ONNX weights from a tfjs LSTM/GRU/SimpleRNN cell's kernel, recurrent kernel and bias. */
function rnnWeights(kernel: { data: Float32Array; shape: number[] }, recurrent: { data: Float32Array; shape: number[] }, bias: Float32Array | undefined, units: number, order: number[]): RnnWeights {
  const gates = order.length;
  const W = reorderGates(kernel.data, kernel.shape, units, order);
  const R = reorderGates(recurrent.data, recurrent.shape, units, order);
  const B = new Float32Array(2 * gates * units);
  if (bias) {
    const b = tf.tidy(() => {
      const blocks = tf.split(tf.tensor1d(bias), gates);
      return tf.concat(order.map((i) => blocks[i]!)).dataSync() as Float32Array;
    });
    B.set(b, 0);
  }
  return { W, R, B };
}

const ONNX_ACT: Record<string, { name: string; alpha?: number; beta?: number }> = {
  sigmoid: { name: 'Sigmoid' },
  hardsigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  tanh: { name: 'Tanh' },
  relu: { name: 'Relu' },
};

function onnxActivations(ctx: LayerContext, names: string[]): Config {
  const acts = names.map((n) => {
    const a = ONNX_ACT[n.toLowerCase()];
    if (!a) throw unsupported(ctx, `uses the recurrent activation "${n}"; ONNX's recurrent operators take sigmoid, hardSigmoid, tanh or relu`);
    return a;
  });
  const alphas = acts.filter((a) => a.alpha !== undefined).map((a) => a.alpha!);
  const betas = acts.filter((a) => a.beta !== undefined).map((a) => a.beta!);
  return {
    activations: { strings: acts.map((a) => a.name) },
    ...(alphas.length ? { activation_alpha: { floats: alphas }, activation_beta: { floats: betas } } : {}),
  };
}

type RnnKind = 'LSTM' | 'GRU' | 'RNN';

/** The cell kind, gate order (tfjs → ONNX) and activations list of a tfjs recurrent layer config. */
function rnnSpec(ctx: LayerContext, className: string, config: Config): { kind: RnnKind; order: number[]; acts: string[] } {
  const act = config.activation ?? 'tanh';
  const rec = config.recurrentActivation ?? 'hardSigmoid';
  if (className === 'LSTM') return { kind: 'LSTM', order: [0, 3, 1, 2], acts: [rec, act, act] }; // tfjs i,f,c,o → ONNX i,o,f,c
  if (className === 'GRU') {
    if (config.resetAfter) throw unsupported(ctx, 'uses resetAfter');
    return { kind: 'GRU', order: [0, 1, 2], acts: [rec, act] }; // z, r, h in both
  }
  if (className === 'SimpleRNN') return { kind: 'RNN', order: [0], acts: [act] };
  throw unsupported(ctx, `wraps an unsupported recurrent layer ${className}`);
}

/**
 * A recurrent layer (optionally bidirectional) as ONNX's LSTM/GRU/RNN operator. Masked steps (token id 0,
 * from a maskZero embedding) are handled as tfjs does when padding sits at one end: each sequence is
 * rotated so its real steps come first (pre-padding), the operator runs over `sequence_lens` steps, and
 * outputs are rotated back.
 */
function recurrent(
  ctx: LayerContext,
  x: Value,
  cells: { className: string; config: Config; kernel: { data: Float32Array; shape: number[] }; recurrent: { data: Float32Array; shape: number[] }; bias?: Float32Array }[],
  returnSequences: boolean,
  direction: 'forward' | 'reverse' | 'bidirectional',
): Value {
  const { g, layer } = ctx;
  const spec = rnnSpec(ctx, cells[0]!.className, cells[0]!.config);
  const units: number = cells[0]!.config.units;
  const dirs = cells.length;
  const ws = cells.map((c) => rnnWeights(c.kernel, c.recurrent, c.bias, units, spec.order));
  const G = spec.order.length;
  const inDim = cells[0]!.kernel.shape[0]!;
  const cat = (k: keyof RnnWeights) => {
    const out = new Float32Array(ws.reduce((a, w) => a + w[k].length, 0));
    let o = 0;
    for (const w of ws) {
      out.set(w[k], o);
      o += w[k].length;
    }
    return out;
  };
  const steps = x.shape[1]!;
  let seq = x.name;
  let lens: string | undefined;
  let rotateBack: string | undefined;
  if (x.maskIds) {
    // real = ids != 0; lens = Σ real; lead = number of padding steps before the first real one.
    const real = g.op1('Cast', [g.op1('Not', [g.op1('Equal', [x.maskIds, g.int64([0], [])], `${layer.name}/pad`)], `${layer.name}/real_b`)], `${layer.name}/real`, { to: INT64 });
    const len64 = g.op1('ReduceSum', [real, g.int64([1])], `${layer.name}/len64`, { keepdims: 0 });
    lens = g.op1('Cast', [len64], `${layer.name}/lens`, { to: INT32 });
    // Leading padding = index of the first real step = argmax over the 0/1 mask (0 when all are padding).
    const lead = g.op1('ArgMax', [real], `${layer.name}/lead`, { axis: 1, keepdims: 1 }); // [b, 1]
    const t = g.int64(Array.from({ length: steps }, (_, i) => i), [1, steps]);
    const L = g.int64([steps], []);
    const fwd = g.op1('Mod', [g.op1('Add', [t, lead], `${layer.name}/t_plus`), L], `${layer.name}/rot_idx`, { fmod: 0 }); // [b, l]
    seq = g.op1('GatherElements', [x.name, g.op1('Expand', [g.op1('Unsqueeze', [fwd, g.int64([2])], `${layer.name}/rot_idx3`), g.op1('Shape', [x.name], `${layer.name}/xshape`)], `${layer.name}/rot_idx_e`)], `${layer.name}/rotated`, { axis: 1 });
    rotateBack = g.op1('Mod', [g.op1('Add', [g.op1('Sub', [t, lead], `${layer.name}/t_minus`), L], `${layer.name}/t_back`), L], `${layer.name}/back_idx`, { fmod: 0 });
  }
  const xt = g.op1('Transpose', [seq], `${layer.name}/time_major`, { perm: [1, 0, 2] });
  const inputs = [
    xt,
    g.float(`${layer.name}/W`, cat('W'), [dirs, G * units, inDim]),
    g.float(`${layer.name}/R`, cat('R'), [dirs, G * units, units]),
    g.float(`${layer.name}/B`, cat('B'), [dirs, 2 * G * units]),
    lens ?? '',
  ];
  const acts = direction === 'bidirectional' ? [...spec.acts, ...spec.acts] : spec.acts;
  const [Y, Yh] = g.op(spec.kind, inputs, `${layer.name}/${spec.kind.toLowerCase()}`, { hidden_size: units, direction, ...onnxActivations(ctx, acts) }, 2);
  if (!returnSequences) {
    // Y_h [dirs, b, units] → [b, dirs·units] (forward then backward, as tfjs concatenates)
    const bt = g.op1('Transpose', [Yh!], `${layer.name}/h_batch`, { perm: [1, 0, 2] });
    const out = g.op1('Reshape', [bt, g.int64([0, dirs * units])], `${layer.name}/out`);
    return { name: out, shape: [-1, dirs * units] };
  }
  // Y [l, dirs, b, units] → [b, l, dirs·units]
  const bt = g.op1('Transpose', [Y!], `${layer.name}/y_batch`, { perm: [2, 0, 1, 3] });
  let out = g.op1('Reshape', [bt, g.int64([0, 0, dirs * units])], `${layer.name}/seq`);
  if (rotateBack) {
    const idx = g.op1('Expand', [g.op1('Unsqueeze', [rotateBack, g.int64([2])], `${layer.name}/back_idx3`), g.op1('Shape', [out], `${layer.name}/yshape`)], `${layer.name}/back_idx_e`);
    out = g.op1('GatherElements', [out, idx], `${layer.name}/unrotated`, { axis: 1 });
  }
  return { name: out, shape: [-1, steps, dirs * units], ...(x.maskIds ? { maskIds: x.maskIds } : {}) };
}

function cellWeights(ctx: LayerContext, prefix: string, config: Config) {
  const all = ctx.weights().filter((w) => w.name.includes(prefix));
  const pick = (suffix: string) => all.find((w) => w.name.endsWith(`/${suffix}`));
  const kernel = pick('kernel');
  const rec = pick('recurrent_kernel');
  if (!kernel || !rec) throw unsupported(ctx, `has no kernel/recurrent_kernel under "${prefix}"`);
  const bias = config.useBias !== false ? pick('bias')?.data : undefined;
  return { kernel, recurrent: rec, ...(bias ? { bias } : {}) };
}

function rnnLayer(ctx: LayerContext, [x]: Value[]): Value[] {
  const { config, className } = ctx;
  if (config.returnState || config.stateful) throw unsupported(ctx, 'returns its state or is stateful');
  if (config.goBackwards && config.returnSequences) throw unsupported(ctx, 'goes backwards and returns sequences');
  const w = cellWeights(ctx, '', config);
  return [recurrent(ctx, x!, [{ className, config, ...w }], config.returnSequences === true, config.goBackwards ? 'reverse' : 'forward')];
}

function bidirectional(ctx: LayerContext, [x]: Value[]): Value[] {
  const { config } = ctx;
  const inner = config.layer as { className: string; config: Config };
  if ((config.mergeMode ?? 'concat') !== 'concat') throw unsupported(ctx, `merges with ${config.mergeMode}; only concat is supported`);
  const fwName = inner.config.name as string;
  const weights = ctx.weights();
  // tfjs names the two copies forward_<name> and backward_<name>.
  const fwPrefix = weights.find((w) => w.name.includes('forward_'))?.name.match(/forward_[^/]+/)?.[0] ?? `forward_${fwName}`;
  const bwPrefix = weights.find((w) => w.name.includes('backward_'))?.name.match(/backward_[^/]+/)?.[0] ?? `backward_${fwName}`;
  const fw = cellWeights(ctx, `${fwPrefix}/`, inner.config);
  const bw = cellWeights(ctx, `${bwPrefix}/`, inner.config);
  const cell = { className: inner.className, config: inner.config };
  return [recurrent(ctx, x!, [{ ...cell, ...fw }, { ...cell, ...bw }], inner.config.returnSequences === true, 'bidirectional')];
}

function projection(g: GraphBuilder, x: string, base: string, kernel: { data: Float32Array; shape: number[] }, bias: Float32Array): string {
  return g.op1('Add', [g.op1('MatMul', [x, g.float(`${base}/kernel`, kernel.data, kernel.shape)], `${base}/mm`), g.float(`${base}/bias`, bias, [bias.length])], base);
}

/** The kernel of a projection, with a LoRA adapter merged in when the layer has one. */
function mergedKernel(ctx: LayerContext, prefix: string): { data: Float32Array; shape: number[] } {
  const kernel = need(ctx, `${prefix}kernel`);
  const a = ctx.weight(`${prefix}lora_a`);
  const b = ctx.weight(`${prefix}lora_b`);
  if (!a || !b) return kernel;
  const scale = (ctx.layer as unknown as { scale: number }).scale;
  return tf.tidy(() => {
    const merged = tf.add(tf.tensor(kernel.data, kernel.shape), tf.mul(tf.matMul(tf.tensor2d(a.data, a.shape as [number, number]), tf.tensor2d(b.data, b.shape as [number, number])), scale));
    return { data: merged.dataSync() as Float32Array, shape: kernel.shape };
  });
}

function selfAttention(ctx: LayerContext, inputs: Value[]): Value[] {
  const { g, layer, config } = ctx;
  const [x, ids] = inputs;
  const h: number = config.numHeads;
  const k: number = config.keyDim;
  const l = x!.shape[1]!;
  const proj = (p: 'query' | 'key' | 'value' | 'output', t: string) => projection(g, t, `${layer.name}/${p}`, mergedKernel(ctx, `${p}_`), need(ctx, `${p}_bias`).data);
  const heads = (t: string, n: string) => g.op1('Transpose', [g.op1('Reshape', [t, g.int64([0, l, h, k])], `${layer.name}/${n}_split`)], `${layer.name}/${n}_heads`, { perm: [0, 2, 1, 3] });
  const q = heads(proj('query', x!.name), 'q');
  const key = heads(proj('key', x!.name), 'k');
  const v = heads(proj('value', x!.name), 'v');
  const kt = g.op1('Transpose', [key], `${layer.name}/k_t`, { perm: [0, 1, 3, 2] });
  let scores = g.op1('Div', [g.op1('MatMul', [q, kt], `${layer.name}/qk`), g.scalar(Math.sqrt(k))], `${layer.name}/scores`);
  if (ids) {
    const pad = g.op1('Cast', [g.op1('Equal', [idsInt64(g, ids, `${layer.name}/mask`), g.int64([0], [])], `${layer.name}/pad_b`)], `${layer.name}/pad`, { to: 1 });
    const bias = g.op1('Reshape', [g.op1('Mul', [pad, g.scalar(-1e9)], `${layer.name}/pad_bias`), g.int64([-1, 1, 1, l])], `${layer.name}/pad_bias4`);
    scores = g.op1('Add', [scores, bias], `${layer.name}/masked`);
  }
  const attn = g.op1('Softmax', [scores], `${layer.name}/attn`, { axis: -1 });
  const merged = g.op1('Transpose', [g.op1('MatMul', [attn, v], `${layer.name}/av`)], `${layer.name}/merge`, { perm: [0, 2, 1, 3] });
  const ctxv = g.op1('Reshape', [merged, g.int64([0, l, h * k])], `${layer.name}/concat_heads`);
  return [{ name: proj('output', ctxv), shape: x!.shape }];
}

function tokenAndPosition(ctx: LayerContext, [x]: Value[]): Value[] {
  const { g, layer, config } = ctx;
  const tokens = need(ctx, 'token_embeddings');
  const positions = need(ctx, 'position_embeddings');
  const l = x!.shape[1]!;
  const d: number = config.embedDim;
  const tok = g.op1('Gather', [g.float(`${layer.name}/tokens`, tokens.data, tokens.shape), idsInt64(g, x!, layer.name)], `${layer.name}/tok`, { axis: 0 });
  const pos = g.float(`${layer.name}/positions`, positions.data.subarray(0, l * d), [l, d]);
  return [{ name: g.op1('Add', [tok, pos], `${layer.name}/out`), shape: [-1, l, d] }];
}

function maskedPooling(ctx: LayerContext, [x, ids]: Value[]): Value[] {
  const { g, layer, config } = ctx;
  const d = x!.shape[2]!;
  if (config.mode === 'first') {
    const first = g.op1('Gather', [x!.name, g.int64([0], [])], `${layer.name}/first`, { axis: 1 });
    return [{ name: first, shape: [-1, d] }];
  }
  const m = g.op1('Unsqueeze', [g.op1('Cast', [g.op1('Not', [g.op1('Equal', [idsInt64(g, ids!, layer.name), g.int64([0], [])], `${layer.name}/pad`)], `${layer.name}/real_b`)], `${layer.name}/real`, { to: 1 }), g.int64([2])], `${layer.name}/m`);
  if (config.mode === 'max') {
    const shifted = g.op1('Add', [x!.name, g.op1('Mul', [g.op1('Sub', [g.scalar(1), m], `${layer.name}/inv`), g.scalar(-1e9)], `${layer.name}/neg`)], `${layer.name}/shifted`);
    return [{ name: g.op1('ReduceMax', [shifted], `${layer.name}/max`, { axes: [1], keepdims: 0 }), shape: [-1, d] }];
  }
  const count = g.op1('Max', [g.op1('ReduceSum', [m, g.int64([1])], `${layer.name}/count0`, { keepdims: 0 }), g.scalar(1)], `${layer.name}/count`);
  const sum = g.op1('ReduceSum', [g.op1('Mul', [x!.name, m], `${layer.name}/masked`), g.int64([1])], `${layer.name}/sum`, { keepdims: 0 });
  return [{ name: g.op1('Div', [sum, count], `${layer.name}/mean`), shape: [-1, d] }];
}

function attentionPooling(ctx: LayerContext, inputs: Value[]): Value[] {
  const { g, layer } = ctx;
  const d = inputs[0]!.shape[1]!;
  const stacked = g.op1('Concat', inputs.map((v, i) => g.op1('Unsqueeze', [v.name, g.int64([1])], `${layer.name}/u${i}`)), `${layer.name}/stack`, { axis: 1 }); // [b, n, d]
  const kernel = need(ctx, 'kernel');
  const hidden = g.op1('Tanh', [projection(g, stacked, `${layer.name}/proj`, kernel, need(ctx, 'bias').data)], `${layer.name}/hidden`);
  const query = need(ctx, 'query');
  const scores = g.op1('MatMul', [hidden, g.float(`${layer.name}/query`, query.data, query.shape)], `${layer.name}/scores`); // [b, n, 1]
  const weights = g.op1('Softmax', [scores], `${layer.name}/weights`, { axis: 1 });
  const out = g.op1('ReduceSum', [g.op1('Mul', [stacked, weights], `${layer.name}/weighted`), g.int64([1])], `${layer.name}/out`, { keepdims: 0 });
  return [{ name: out, shape: [-1, d] }];
}

function merge(kind: 'Sum' | 'Mul' | 'Mean' | 'Max' | 'Min') {
  return (ctx: LayerContext, inputs: Value[]): Value[] => {
    const { g, layer } = ctx;
    if (kind === 'Mul') {
      let acc = inputs[0]!.name;
      for (let i = 1; i < inputs.length; i++) acc = g.op1('Mul', [acc, inputs[i]!.name], `${layer.name}/mul${i}`);
      return [{ ...inputs[0]!, name: acc }];
    }
    return [{ ...inputs[0]!, name: g.op1(kind, inputs.map((v) => v.name), `${layer.name}/${kind.toLowerCase()}`) }];
  };
}

/** Converters by tfjs class name. */
export const CONVERTERS: Record<string, Converter> = {
  Dense: (ctx, [x]) => [dense(ctx, x!, need(ctx, 'kernel'), ctx.config.useBias !== false ? ctx.weight('bias') : undefined, ctx.config.activation)],
  TfpipeLoraDense: (ctx, [x]) => [dense(ctx, x!, mergedKernel(ctx, ''), ctx.config.useBias !== false ? ctx.weight('bias') : undefined, ctx.config.activation)],
  Conv2D: (ctx, inputs) => conv(ctx, inputs, 2),
  Conv1D: (ctx, inputs) => conv(ctx, inputs, 1),
  MaxPooling2D: (ctx, inputs) => pool(ctx, inputs, 2, 'MaxPool'),
  AveragePooling2D: (ctx, inputs) => pool(ctx, inputs, 2, 'AveragePool'),
  MaxPooling1D: (ctx, inputs) => pool(ctx, inputs, 1, 'MaxPool'),
  AveragePooling1D: (ctx, inputs) => pool(ctx, inputs, 1, 'AveragePool'),
  GlobalAveragePooling2D: (ctx, inputs) => globalPool(ctx, inputs, 2, 'ReduceMean'),
  GlobalMaxPooling2D: (ctx, inputs) => globalPool(ctx, inputs, 2, 'ReduceMax'),
  GlobalAveragePooling1D: (ctx, inputs) => globalPool(ctx, inputs, 1, 'ReduceMean'),
  GlobalMaxPooling1D: (ctx, inputs) => globalPool(ctx, inputs, 1, 'ReduceMax'),
  BatchNormalization: batchNorm,
  LayerNormalization: (ctx, [x]) => {
    const c = ctx.config;
    const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
    if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== x!.shape.length - 1)) throw unsupported(ctx, `normalizes axes ${axis.join(',')}; only the last axis is supported`);
    return [{ ...x!, name: layerNorm(ctx.g, x!.name, ctx.layer.name, c.epsilon ?? 1e-3, c.scale !== false ? ctx.weight('gamma')?.data : undefined, c.center !== false ? ctx.weight('beta')?.data : undefined) }];
  },
  Dropout: identity,
  TfpipeSeededDropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Flatten: (ctx, [x]) => {
    const per = x!.shape.slice(1);
    const n = per.every((d) => d > 0) ? per.reduce((a, b) => a * b, 1) : -1;
    return [{ name: ctx.g.op1('Flatten', [x!.name], `${ctx.layer.name}/flatten`, { axis: 1 }), shape: [-1, n] }];
  },
  Reshape: (ctx, [x]) => {
    const target = ctx.config.targetShape as number[];
    return [{ name: ctx.g.op1('Reshape', [x!.name, ctx.g.int64([0, ...target])], `${ctx.layer.name}/reshape`), shape: [-1, ...target] }];
  },
  Activation: (ctx, [x]) => [{ ...x!, name: activation(ctx.g, x!.name, ctx.config.activation, `${ctx.layer.name}/act`, ctx) }],
  ReLU: (ctx, [x]) => [{ ...x!, name: ctx.g.op1('Relu', [x!.name], `${ctx.layer.name}/relu`) }],
  Softmax: (ctx, [x]) => [{ ...x!, name: ctx.g.op1('Softmax', [x!.name], `${ctx.layer.name}/softmax`, { axis: -1 }) }],
  Embedding: embedding,
  Concatenate: (ctx, inputs) => {
    const rank = inputs[0]!.shape.length;
    const axis = ctx.config.axis ?? -1;
    const a = axis < 0 ? rank + axis : axis;
    const shape = [...inputs[0]!.shape];
    shape[a] = inputs.some((v) => v.shape[a]! < 0) ? -1 : inputs.reduce((s, v) => s + v.shape[a]!, 0);
    return [{ name: ctx.g.op1('Concat', inputs.map((v) => v.name), `${ctx.layer.name}/concat`, { axis: a }), shape }];
  },
  Add: merge('Sum'),
  Multiply: merge('Mul'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  LSTM: rnnLayer,
  GRU: rnnLayer,
  SimpleRNN: rnnLayer,
  Bidirectional: bidirectional,
  TfpipeMultiHeadSelfAttention: selfAttention,
  TfpipeLoraSelfAttention: selfAttention,
  TfpipeTokenAndPositionEmbedding: tokenAndPosition,
  TfpipeMaskedSequencePooling: maskedPooling,
  TfpipeAttentionPooling: attentionPooling,
};

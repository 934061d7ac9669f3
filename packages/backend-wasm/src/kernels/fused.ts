import * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { type ConvAttrs, f32, type KernelArgs } from '../wasm-heap.js';

/*
 * Two places where tfjs-core runs a chain of tiny kernels that one pass over memory can replace. On the
 * MNIST CNN each training step spent 0.85 ms in Adam (ten kernels per variable, each a JS dispatch,
 * a tape check and an allocation, for 35k weights in all) and 0.56 ms in ReLU gradients (step, cast,
 * multiply over every activation). Each is a kernel of ours for 'wasm' that computes the same float32
 * operations in the same order, so results are bit for bit the stock ones; other backends keep the
 * stock path.
 */

/** One Adam step for one variable: inputs value, m, v, g; outputs [value', m', v']. */
export const ADAM_UPDATE_KERNEL = 'TfpipeAdamUpdate';
/** ReLU's gradient: inputs dy, x; output dy * (x > 0). */
export const RELU_GRAD_KERNEL = 'TfpipeReluGrad';

const fr = Math.fround;

type AdamAttrs = { beta1: number; beta2: number; oneMinusBeta1: number; oneMinusBeta2: number; d1: number; d2: number; epsilon: number; negLr: number };

function adamUpdate({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { value, m, v, g } = inputs as Record<'value' | 'm' | 'v' | 'g', tf.TensorInfo>;
  const a = attrs as unknown as AdamAttrs;
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, 'float32')) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const size = tf.util.sizeFromShape(value.shape);
  const simd = simdKernels(backend);
  if (simd) {
    const [ov, om, ow] = outs.map((t) => heapOffset(backend, t)) as [number, number, number];
    simd.adam_update(
      heapOffset(backend, value), heapOffset(backend, m), heapOffset(backend, v), heapOffset(backend, g), ov, om, ow, size,
      a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.d1, a.d2, a.epsilon, a.negLr,
    );
    return outs;
  }
  const [val, mm, vv, gg, nVal, nM, nV] = [value, m, v, g, ...outs].map((t) => f32(backend, t)) as Float32Array[];
  for (let i = 0; i < size; i++) {
    const gi = gg![i]!;
    const m1 = fr(fr(mm![i]! * a.beta1) + fr(gi * a.oneMinusBeta1));
    const v1 = fr(fr(vv![i]! * a.beta2) + fr(fr(gi * gi) * a.oneMinusBeta2));
    nM![i] = m1;
    nV![i] = v1;
    nVal![i] = fr(fr(fr(fr(m1 / a.d1) / fr(fr(Math.sqrt(fr(v1 / a.d2))) + a.epsilon)) * a.negLr) + val![i]!);
  }
  return outs;
}

function reluGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x } = inputs as Record<'dy' | 'x', tf.TensorInfo>;
  const out = backend.makeOutput(x.shape, 'float32');
  const size = tf.util.sizeFromShape(x.shape);
  const simd = simdKernels(backend);
  if (simd) {
    // Big tensors (a first conv layer's activations) on two threads, in blocks of 4096 floats.
    const blocks = Math.ceil(size / 4096);
    const args = [heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, out), 0, blocks, size];
    runShared(simd, { name: 'relu_grad_range', args, range: 3, items: blocks, step: Math.ceil(blocks / 16) }, blocks >= 16 ? simdHelper(backend) : undefined);
    return out;
  }
  const [d, xv, o] = [dy, x, out].map((t) => f32(backend, t)) as Float32Array[];
  for (let i = 0; i < size; i++) {
    const xi = xv![i]!;
    o![i] = d![i]! * (Number.isNaN(xi) ? Number.NaN : xi > 0 ? 1 : 0);
  }
  return out;
}

export const fusedKernelConfigs = [
  { kernelName: ADAM_UPDATE_KERNEL, kernelFunc: adamUpdate },
  { kernelName: RELU_GRAD_KERNEL, kernelFunc: reluGrad },
];

/** Whether the running backend has our kernel `name` (only 'wasm' does). */
function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** dy * step(x), as one kernel where the backend has it. */
function reluGradOf(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (dy.dtype === 'float32' && x.dtype === 'float32' && hasKernel(RELU_GRAD_KERNEL)) {
    return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

const reluGradient: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => reluGradOf(dy as tf.Tensor, x) };
  },
};

/**
 * Puts our ReLU gradient (back) in the registry. tfjs-layers' bundle carries its own copy of tfjs-core's
 * gradient registrations and runs them when imported, over the shared registry: importing it after this
 * package put the stock gradient back. So the wasm Relu kernel calls this before each forward pass (a
 * map lookup), and the tape records our gradient whatever the import order.
 */
export function ensureReluGradient(): void {
  if (tf.getGradient(tf.Relu) !== reluGradient) tf.registerGradient(reluGradient);
}

/** The wasm Relu: the stock kernel, after making sure the tape will record the fused gradient. */
export function reluForward(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  ensureReluGradient();
  return original(args);
}

type FusedConvAttrs = ConvAttrs & { activation?: string };

/**
 * The gradient of the FusedConv2D kernel with no activation or ReLU (tfjs-core registers none: its fused op
 * wraps the kernel in customGrad, and falls back to conv2d + add + relu while a gradient is recorded). Each
 * input's gradient is computed only if the tape asks for it: a first layer's input gradient never runs.
 */
const fusedConv2dGradient: tf.GradConfig = {
  kernelName: tf.FusedConv2D,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode, activation } = attrs as unknown as FusedConvAttrs;
    if (activation !== 'relu' && activation !== 'linear' && activation !== undefined) {
      throw new Error(`the FusedConv2D gradient handles no activation or relu, received ${activation}`);
    }
    // ReLU's mask from its output: y > 0 exactly where the pre-activation is > 0.
    const dyAct = activation === 'relu' ? reluGradOf(dy as tf.Tensor, y) : (dy as tf.Tensor);
    const conv = { strides, pad, dataFormat: dataFormat ?? 'NHWC', ...(dimRoundingMode ? { dimRoundingMode } : {}) } as unknown as tf.NamedAttrMap;
    return {
      x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyAct, filter }, { ...conv, inputShape: x.shape }) as tf.Tensor,
      filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dyAct }, { ...conv, filterShape: filter.shape }) as tf.Tensor,
      bias: () => tf.sum(dyAct, [0, 1, 2]),
    };
  },
};

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];

/**
 * tf.fused.conv2d while a gradient is recorded, on wasm, with ReLU: one FusedConv2D kernel (XNNPACK or our
 * Winograd, bias and ReLU in the convolution's own pass) with the gradient above, instead of tfjs-core's
 * conv2d + add + relu (three kernels forward, four tape nodes back). Everything else goes to the stock op.
 */
function fusedConv2dWhileTraining(stock: typeof tf.fused.conv2d): typeof tf.fused.conv2d {
  return ((args: FusedConv2dArgs) => {
    const { x, filter, bias, strides, pad, dataFormat, dilations, dimRoundingMode, activation, preluActivationWeights } = args;
    const recording = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
    const dil = dilations ?? 1;
    const plain =
      activation === 'relu' && recording && tf.getBackend() === 'wasm' && !preluActivationWeights &&
      x instanceof tf.Tensor && x.rank === 4 && x.dtype === 'float32' && filter instanceof tf.Tensor && filter.rank === 4 &&
      (dataFormat ?? 'NHWC') === 'NHWC' && (dil === 1 || (Array.isArray(dil) && dil[0] === 1 && dil[1] === 1)) &&
      (bias === undefined || (bias instanceof tf.Tensor && bias.rank === 1 && bias.shape[0] === filter.shape[3] && bias.dtype === 'float32'));
    if (!plain || !hasKernel(tf.FusedConv2D) || tf.getGradient(tf.FusedConv2D) !== fusedConv2dGradient) return stock(args);
    const inputs: tf.NamedTensorMap = bias ? { x, filter, bias: bias as tf.Tensor } : { x, filter };
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode, activation: 'relu', leakyreluAlpha: 0 };
    return tf.engine().runKernel(tf.FusedConv2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }) as typeof tf.fused.conv2d;
}

let installed = false;

/**
 * Puts the fused paths in place (idempotent; importing the package does it):
 * - ReLU's registered gradient becomes reluGradOf (stock formula off wasm; see ensureReluGradient); the
 *   fused kernel's own gradient is itself again, so second derivatives still work;
 * - tf.AdamOptimizer's applyGradients runs one ADAM_UPDATE_KERNEL per variable when the backend has
 *   it, with the optimizer's own moment variables and accumulated betas (so getWeights/setWeights,
 *   checkpoints and resumed runs see exactly what the stock optimizer keeps), else the stock method.
 */
export function installFusedOps(): void {
  if (installed) return;
  installed = true;
  ensureReluGradient();
  if (!tf.getGradient(tf.FusedConv2D)) {
    tf.registerGradient(fusedConv2dGradient);
    const fused = tf.fused as { conv2d: typeof tf.fused.conv2d };
    fused.conv2d = fusedConv2dWhileTraining(fused.conv2d);
  }
  tf.registerGradient({
    kernelName: RELU_GRAD_KERNEL,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved) => {
      const [x] = saved as [tf.Tensor];
      return { dy: () => reluGradOf(ddx as tf.Tensor, x), x: () => tf.zerosLike(x) };
    },
  });

  type Moment = { originalName: string; variable: tf.Variable };
  // The stock optimizer's fields (private in its typings).
  type Adam = {
    applyGradients(variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void;
    accBeta1: tf.Variable;
    accBeta2: tf.Variable;
    accumulatedFirstMoment: Moment[];
    accumulatedSecondMoment: Moment[];
    beta1: number;
    beta2: number;
    epsilon: number;
    learningRate: number;
    incrementIterations(): void;
  };
  const proto = tf.AdamOptimizer.prototype as unknown as Adam;
  const stock = proto.applyGradients;
  proto.applyGradients = function (this: Adam, variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]) {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const grads = names.map((name, i) => (Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name]));
    const float32 = names.every((name, i) => tf.engine().registeredVariables[name]?.dtype === 'float32' && (grads[i] == null || grads[i]!.dtype === 'float32'));
    if (!float32 || !hasKernel(ADAM_UPDATE_KERNEL)) return stock.call(this, variableGradients);
    tf.tidy(() => {
      // The stock code computes 1 - accBeta on the device in float32, and its scalars are float32.
      const [acc1, acc2] = [this.accBeta1.dataSync()[0]!, this.accBeta2.dataSync()[0]!];
      const attrs: AdamAttrs = {
        beta1: fr(this.beta1),
        beta2: fr(this.beta2),
        oneMinusBeta1: fr(1 - this.beta1),
        oneMinusBeta2: fr(1 - this.beta2),
        d1: fr(1 - acc1),
        d2: fr(1 - acc2),
        epsilon: fr(this.epsilon),
        negLr: fr(-this.learningRate),
      };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        this.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        this.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const g = grads[i];
        if (g == null) return;
        const m = this.accumulatedFirstMoment[i]!.variable;
        const v = this.accumulatedSecondMoment[i]!.variable;
        const [nv, nm, nvv] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, { value, m, v, g }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(nm!);
        v.assign(nvv!);
        value.assign(nv!);
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
}

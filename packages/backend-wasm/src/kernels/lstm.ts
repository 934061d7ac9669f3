import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../simd/instance.js';
import type { KernelArgs } from '../wasm-heap.js';

/*
 * A fused LSTM step for tfjs-layers' LSTMCell on wasm. Its stock call runs, per time step, two matmuls, a bias
 * add, a split, three hard sigmoids (mul, add, clip), two tanh and five elementwise ops forward, and about
 * twice as many kernels back (clipByValue's gradient alone is four): ~60 kernels a step at ~10 µs of dispatch
 * each, for 32x64 units. Here the step after z = x W + h U + b is one kernel each way (TfpipeLstmGates and its
 * gradient), with the activations in our SIMD code (tanh within 3.3e-7 of Math.tanh).
 */

export const LSTM_GATES_KERNEL = 'TfpipeLstmGates';
export const LSTM_GATES_GRAD_KERNEL = 'TfpipeLstmGatesGrad';

function lstmGates({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { z, c } = inputs as Record<'z' | 'c', tf.TensorInfo>;
  const simd = simdKernels(backend);
  if (!simd) throw new Error(`${LSTM_GATES_KERNEL} needs the SIMD kernels (TFPIPE_WASM_SIMD_KERNELS is 0)`);
  const [rows, units] = c.shape as [number, number];
  const h = backend.makeOutput([rows, units], 'float32');
  const cn = backend.makeOutput([rows, units], 'float32');
  simd.lstm_gates(heapOffset(backend, z), heapOffset(backend, c), heapOffset(backend, h), heapOffset(backend, cn), rows, units, attrs.hard ? 1 : 0);
  return [h, cn];
}

function lstmGatesGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { dh, dc, z, c } = inputs as Record<'dh' | 'dc' | 'z' | 'c', tf.TensorInfo>;
  const simd = simdKernels(backend);
  if (!simd) throw new Error(`${LSTM_GATES_GRAD_KERNEL} needs the SIMD kernels (TFPIPE_WASM_SIMD_KERNELS is 0)`);
  const [rows, units] = c.shape as [number, number];
  const dz = backend.makeOutput([rows, 4 * units], 'float32');
  const dcPrev = backend.makeOutput([rows, units], 'float32');
  const [dho, dco, zo, co] = [dh, dc, z, c].map((t) => heapOffset(backend, t)) as [number, number, number, number];
  simd.lstm_gates_grad(dho, dco, zo, co, heapOffset(backend, dz), heapOffset(backend, dcPrev), rows, units, attrs.hard ? 1 : 0);
  return [dz, dcPrev];
}

export const lstmKernelConfigs = [
  { kernelName: LSTM_GATES_KERNEL, kernelFunc: lstmGates },
  { kernelName: LSTM_GATES_GRAD_KERNEL, kernelFunc: lstmGatesGrad },
];

const lstmGatesGradient: tf.GradConfig = {
  kernelName: LSTM_GATES_KERNEL,
  inputsToSave: ['z', 'c'],
  gradFunc: (dys, saved, attrs) => {
    const [dh, dc] = dys as tf.Tensor[];
    const [z, c] = saved as [tf.Tensor, tf.Tensor];
    const [dz, dcPrev] = tf.engine().runKernel(LSTM_GATES_GRAD_KERNEL, { dh: dh!, dc: dc!, z, c }, attrs) as tf.Tensor[];
    return { z: () => dz!, c: () => dcPrev! };
  },
};

// The parts of tfjs-layers' LSTMCell the fused step reads (its class is reached through tfjs-core's
// serialization registry: this package does not depend on tfjs-layers).
type LayerVariable = { read(): tf.Tensor };
type Activation = { getClassName(): string };
interface LstmCell {
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  units: number;
  dropout: number;
  recurrentDropout: number;
  useBias: boolean;
  activation: Activation;
  recurrentActivation: Activation;
  kernel: LayerVariable;
  recurrentKernel: LayerVariable;
  bias: LayerVariable | null;
}

const patched = new WeakSet<object>();

/**
 * Wraps tfjs-layers' LSTMCell.call (once tfjs-layers is loaded; called again from the backend's start) so that
 * on wasm, with tanh and a hard or logistic sigmoid, no dropout, and units a multiple of 4, a step is two
 * matmuls, a bias add and TfpipeLstmGates. Anything else runs the stock step.
 */
export function installLstmFusion(): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.LSTMCell as [{ prototype: LstmCell }, unknown] | undefined;
  const proto = entry?.[0]?.prototype;
  if (!proto || patched.has(proto)) return;
  patched.add(proto);
  if (!tf.getGradient(LSTM_GATES_KERNEL)) tf.registerGradient(lstmGatesGradient);
  const stock = proto.call;
  proto.call = function (this: LstmCell, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const [x, h, c] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor | undefined, tf.Tensor | undefined];
    const recurrent = this.recurrentActivation.getClassName();
    const fusable =
      tf.getBackend() === 'wasm' && tf.getKernel(LSTM_GATES_KERNEL, 'wasm') !== undefined && h !== undefined && c !== undefined &&
      !(this.dropout > 0 && this.dropout < 1) && !(this.recurrentDropout > 0 && this.recurrentDropout < 1) &&
      this.activation.getClassName() === 'tanh' && (recurrent === 'hardSigmoid' || recurrent === 'sigmoid') &&
      this.units % 4 === 0 && x.rank === 2 && x.dtype === 'float32' && c.dtype === 'float32' && simdKernels(tf.backend() as never) !== undefined;
    if (!fusable) return stock.call(this, inputs, kwargs);
    return tf.tidy(() => {
      let z = tf.add(tf.matMul(x, this.kernel.read()), tf.matMul(h, this.recurrentKernel.read()));
      if (this.useBias && this.bias) z = tf.add(z, this.bias.read());
      const [hNew, cNew] = tf.engine().runKernel(LSTM_GATES_KERNEL, { z, c }, { hard: recurrent === 'hardSigmoid' }) as tf.Tensor[];
      return [hNew!, hNew!, cNew!];
    });
  };
}

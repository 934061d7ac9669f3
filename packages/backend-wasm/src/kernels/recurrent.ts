import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../simd/instance.js';
import type { KernelArgs } from '../wasm-heap.js';

/*
 * Fused LSTM and GRU steps for tfjs-layers' cells on wasm. The stock LSTM step runs two matmuls, a bias add, a
 * split, three hard sigmoids (mul, add, clip), two tanh and five elementwise ops forward, and about twice as
 * many kernels back (clipByValue's gradient alone is four): ~60 kernels a step at ~10 µs of dispatch each, for
 * 32x64 units. Here the LSTM step after z = x W + h U + b is one kernel each way (TfpipeLstmGates and its
 * gradient), the GRU step two around its reset-gated product, with the activations in our SIMD code (tanh
 * within 3.3e-7 of Math.tanh).
 */

export const LSTM_GATES_KERNEL = 'TfpipeLstmGates';
export const LSTM_GATES_GRAD_KERNEL = 'TfpipeLstmGatesGrad';
export const GRU_GATES_KERNEL = 'TfpipeGruGates';
export const GRU_GATES_GRAD_KERNEL = 'TfpipeGruGatesGrad';
export const GRU_OUT_KERNEL = 'TfpipeGruOut';
export const GRU_OUT_GRAD_KERNEL = 'TfpipeGruOutGrad';

function kernels(backend: KernelArgs['backend'], name: string) {
  const simd = simdKernels(backend);
  if (!simd) throw new Error(`${name} needs the SIMD kernels (TFPIPE_WASM_SIMD_KERNELS is 0)`);
  return simd;
}

type Infos = Record<string, tf.TensorInfo>;
const outputs = (backend: KernelArgs['backend'], ...shapes: number[][]) => shapes.map((shape) => backend.makeOutput(shape, 'float32'));
const offsets = (backend: KernelArgs['backend'], ...ts: tf.TensorInfo[]) => ts.map((t) => heapOffset(backend, t));

/** LSTM: h' and c' from z = x W + h U + b [rows, 4u] and c [rows, u]. */
function lstmGates({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { z, c } = inputs as Infos;
  const [rows, units] = c!.shape as [number, number];
  const out = outputs(backend, [rows, units], [rows, units]);
  kernels(backend, LSTM_GATES_KERNEL).lstm_gates(...(offsets(backend, z!, c!, ...out) as [number, number, number, number]), rows, units, attrs.hard ? 1 : 0);
  return out;
}

function lstmGatesGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { dh, dc, z, c } = inputs as Infos;
  const [rows, units] = c!.shape as [number, number];
  const out = outputs(backend, [rows, 4 * units], [rows, units]);
  const o = offsets(backend, dh!, dc!, z!, c!, ...out) as [number, number, number, number, number, number];
  kernels(backend, LSTM_GATES_GRAD_KERNEL).lstm_gates_grad(...o, rows, units, attrs.hard ? 1 : 0);
  return out;
}

/** GRU, first half: z and r * h from mx = x W + b [rows, 3u], inner = h U_zr [rows, 2u], h [rows, u]. */
function gruGates({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { mx, inner, h } = inputs as Infos;
  const [rows, units] = h!.shape as [number, number];
  const out = outputs(backend, [rows, units], [rows, units]);
  kernels(backend, GRU_GATES_KERNEL).gru_gates(...(offsets(backend, mx!, inner!, h!, ...out) as [number, number, number, number, number]), rows, units, attrs.hard ? 1 : 0);
  return out;
}

function gruGatesGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { dz, drh, mx, inner, h } = inputs as Infos;
  const [rows, units] = h!.shape as [number, number];
  const out = outputs(backend, [rows, 3 * units], [rows, 2 * units], [rows, units]);
  const o = offsets(backend, dz!, drh!, mx!, inner!, h!, ...out) as [number, number, number, number, number, number, number, number];
  kernels(backend, GRU_GATES_GRAD_KERNEL).gru_gates_grad(...o, rows, units, attrs.hard ? 1 : 0);
  return out;
}

/** GRU, second half: h' = z h + (1 - z) tanh(mx_h + recH), recH = (r * h) U_h. */
function gruOut({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { mx, recH, z, h } = inputs as Infos;
  const [rows, units] = h!.shape as [number, number];
  const [hn] = outputs(backend, [rows, units]) as [tf.TensorInfo];
  kernels(backend, GRU_OUT_KERNEL).gru_out(...(offsets(backend, mx!, recH!, z!, h!, hn) as [number, number, number, number, number]), rows, units);
  return hn;
}

function gruOutGrad({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { dhn, mx, recH, z, h } = inputs as Infos;
  const [rows, units] = h!.shape as [number, number];
  const out = outputs(backend, [rows, 3 * units], [rows, units], [rows, units], [rows, units]);
  const o = offsets(backend, dhn!, mx!, recH!, z!, h!, ...out) as [number, number, number, number, number, number, number, number, number];
  kernels(backend, GRU_OUT_GRAD_KERNEL).gru_out_grad(...o, rows, units);
  return out;
}

export const recurrentKernelConfigs = [
  { kernelName: LSTM_GATES_KERNEL, kernelFunc: lstmGates },
  { kernelName: LSTM_GATES_GRAD_KERNEL, kernelFunc: lstmGatesGrad },
  { kernelName: GRU_GATES_KERNEL, kernelFunc: gruGates },
  { kernelName: GRU_GATES_GRAD_KERNEL, kernelFunc: gruGatesGrad },
  { kernelName: GRU_OUT_KERNEL, kernelFunc: gruOut },
  { kernelName: GRU_OUT_GRAD_KERNEL, kernelFunc: gruOutGrad },
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

const gruGatesGradient: tf.GradConfig = {
  kernelName: GRU_GATES_KERNEL,
  inputsToSave: ['mx', 'inner', 'h'],
  gradFunc: (dys, saved, attrs) => {
    const [dz, drh] = dys as tf.Tensor[];
    const [mx, inner, h] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [dmx, dinner, dh] = tf.engine().runKernel(GRU_GATES_GRAD_KERNEL, { dz: dz!, drh: drh!, mx, inner, h }, attrs) as tf.Tensor[];
    return { mx: () => dmx!, inner: () => dinner!, h: () => dh! };
  },
};

const gruOutGradient: tf.GradConfig = {
  kernelName: GRU_OUT_KERNEL,
  inputsToSave: ['mx', 'recH', 'z', 'h'],
  gradFunc: (dy, saved) => {
    const [mx, recH, z, h] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dmx, drecH, dz, dh] = tf.engine().runKernel(GRU_OUT_GRAD_KERNEL, { dhn: dy as tf.Tensor, mx, recH, z, h }) as tf.Tensor[];
    return { mx: () => dmx!, recH: () => drecH!, z: () => dz!, h: () => dh! };
  },
};

// The parts of tfjs-layers' LSTMCell the fused step reads (its class is reached through tfjs-core's
// serialization registry: this package does not depend on tfjs-layers).
type LayerVariable = { read(): tf.Tensor };
type Activation = { getClassName(): string };
interface RnnCell {
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
type LstmCell = RnnCell;
type GruCell = RnnCell;

const patched = new WeakSet<object>();
const enabled = process.env.TFPIPE_WASM_FUSED_RNN !== '0';

/** tfjs-layers' class registered under `name` (tfjs-core's serialization registry), once tfjs-layers is loaded. */
function layersClass<T>(name: string): T | undefined {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name] as [{ prototype: T }, unknown] | undefined;
  return entry?.[0]?.prototype;
}

/** What both fused steps need: wasm with our kernels, tanh, a hard or logistic sigmoid, no dropout, units % 4. */
function fusable(cell: LstmCell | GruCell, x: tf.Tensor, kernel: string): boolean {
  const recurrent = cell.recurrentActivation.getClassName();
  return (
    enabled && tf.getBackend() === 'wasm' && tf.getKernel(kernel, 'wasm') !== undefined && simdKernels(tf.backend() as never) !== undefined &&
    !(cell.dropout > 0 && cell.dropout < 1) && !(cell.recurrentDropout > 0 && cell.recurrentDropout < 1) &&
    cell.activation.getClassName() === 'tanh' && (recurrent === 'hardSigmoid' || recurrent === 'sigmoid') &&
    cell.units % 4 === 0 && x.rank === 2 && x.dtype === 'float32'
  );
}

/**
 * Wraps tfjs-layers' LSTMCell.call and GRUCell.call (once tfjs-layers is loaded; called again from the
 * backend's start) so that on wasm, with tanh and a hard or logistic sigmoid, no dropout, and units a multiple
 * of 4, a step is its matmuls and our fused kernels. Anything else runs the stock step.
 */
export function installRecurrentFusion(): void {
  const lstm = layersClass<LstmCell>('LSTMCell');
  if (lstm && !patched.has(lstm)) {
    patched.add(lstm);
    if (!tf.getGradient(LSTM_GATES_KERNEL)) tf.registerGradient(lstmGatesGradient);
    const stock = lstm.call;
    lstm.call = function (this: LstmCell, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
      const [x, h, c] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor | undefined, tf.Tensor | undefined];
      if (!h || !c || c.dtype !== 'float32' || !fusable(this, x, LSTM_GATES_KERNEL)) return stock.call(this, inputs, kwargs);
      const hard = this.recurrentActivation.getClassName() === 'hardSigmoid';
      return tf.tidy(() => {
        let z = tf.add(tf.matMul(x, this.kernel.read()), tf.matMul(h, this.recurrentKernel.read()));
        if (this.useBias && this.bias) z = tf.add(z, this.bias.read());
        const [hNew, cNew] = tf.engine().runKernel(LSTM_GATES_KERNEL, { z, c }, { hard }) as tf.Tensor[];
        return [hNew!, hNew!, cNew!];
      });
    };
  }
  const gru = layersClass<GruCell>('GRUCell');
  if (gru && !patched.has(gru)) {
    patched.add(gru);
    if (!tf.getGradient(GRU_GATES_KERNEL)) tf.registerGradient(gruGatesGradient);
    if (!tf.getGradient(GRU_OUT_KERNEL)) tf.registerGradient(gruOutGradient);
    const stock = gru.call;
    gru.call = function (this: GruCell, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
      const [x, h] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor | undefined];
      if (h?.dtype !== 'float32' || !fusable(this, x, GRU_OUT_KERNEL)) return stock.call(this, inputs, kwargs);
      const hard = this.recurrentActivation.getClassName() === 'hardSigmoid';
      return tf.tidy(() => {
        let mx = tf.matMul(x, this.kernel.read());
        if (this.useBias && this.bias) mx = tf.add(mx, this.bias.read());
        const [rkZR, rkH] = tf.split(this.recurrentKernel.read(), [2 * this.units, this.units], 1);
        const inner = tf.matMul(h, rkZR!);
        const [z, rh] = tf.engine().runKernel(GRU_GATES_KERNEL, { mx, inner, h }, { hard }) as tf.Tensor[];
        const recH = tf.matMul(rh!, rkH!);
        const hNew = tf.engine().runKernel(GRU_OUT_KERNEL, { mx, recH, z: z!, h }) as tf.Tensor;
        return [hNew, hNew];
      });
    };
  }
}

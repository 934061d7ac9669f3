import * as tf from '@tensorflow/tfjs-core';
// Registers the 'wasm' backend and its own kernels first, so ours replace them and not the reverse.
import '@tensorflow/tfjs-backend-wasm';
import { installChainedOps } from '@tfpipe/core';
import { batchMatMul, fusedBatchMatMul } from './kernels/batch-matmul.js';
import { conv2DBackpropFilter, conv2DBackpropInput } from './kernels/conv2d-backprop.js';
import { depthwiseFilterConfig, depthwiseInputConfig } from './kernels/depthwise-backprop.js';
import { einsumConfig } from './kernels/einsum.js';
import { ADAM_UPDATE_KERNEL, fusedKernelConfigs, installFusedOps, RELU_GRAD_KERNEL, reluForward } from './kernels/fused.js';
import { gatherV2 } from './kernels/gather.js';
import { GRU_GATES_GRAD_KERNEL, GRU_GATES_KERNEL, GRU_OUT_GRAD_KERNEL, GRU_OUT_KERNEL, installRecurrentFusion, LSTM_GATES_GRAD_KERNEL, LSTM_GATES_KERNEL, recurrentKernelConfigs } from './kernels/recurrent.js';
import { cast, identity } from './kernels/identity.js';
import { avgPoolGradConfig, maxPoolGradConfig } from './kernels/pool-grad.js';
import { slice } from './kernels/slice.js';
import { sumLeadingAxes } from './kernels/sum.js';
import { transpose } from './kernels/transpose.js';
import { unsortedSegmentSumConfig } from './kernels/unsorted-segment-sum.js';
import { conv2dWinograd, fusedConv2dWinograd } from './kernels/winograd.js';
import { installThreadedWasm, setWasmThreads } from './threaded.js';
import type { KernelArgs } from './wasm-heap.js';

export const WASM_BACKEND = 'wasm';

/** The kernels this package registers for 'wasm': missing ones (added) and slow ones (replaced). */
export const WASM_TRAINING_KERNELS = [
  tf.Conv2D,
  tf.FusedConv2D,
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.MaxPoolGrad,
  tf.AvgPoolGrad,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.UnsortedSegmentSum,
  tf.Einsum,
  tf.Sum,
  tf.Slice,
  tf.Identity,
  tf.Cast,
  tf.BatchMatMul,
  tf._FusedMatMul,
  tf.Transpose,
  tf.GatherV2,
  tf.Relu,
  ADAM_UPDATE_KERNEL,
  RELU_GRAD_KERNEL,
  LSTM_GATES_KERNEL,
  LSTM_GATES_GRAD_KERNEL,
  GRU_GATES_KERNEL,
  GRU_GATES_GRAD_KERNEL,
  GRU_OUT_KERNEL,
  GRU_OUT_GRAD_KERNEL,
] as const;

type Kernel = {
  kernelName: string;
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
  setupFunc?: tf.KernelSetupFunc;
};

/** What tfjs-backend-wasm had registered under the names we replace (kept for fallbacks and for unregister). */
const originals = new Map<string, tf.KernelConfig | undefined>();
let registered = false;

type KernelFn = (args: KernelArgs) => tf.TensorInfo;

/**
 * Ours in front of what tfjs-backend-wasm registered under `name`, which it falls back to for the cases it
 * does not take. The original's setup is kept: it binds the C function the fallback calls on a fresh
 * backend. Nothing is registered if the original is missing.
 */
function around(name: string, kernel: (args: KernelArgs, original: KernelFn) => tf.TensorInfo): Kernel[] {
  const original = originals.get(name);
  if (!original) return [];
  const fn = original.kernelFunc as unknown as KernelFn;
  return [
    {
      kernelName: name,
      kernelFunc: (args) => kernel(args, fn),
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    },
  ];
}

function kernels(): Kernel[] {
  const originalInput = originals.get(tf.Conv2DBackpropInput);
  return [
    { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
    {
      kernelName: tf.Conv2DBackpropInput,
      kernelFunc: (args) =>
        conv2DBackpropInput(args, originalInput?.kernelFunc as unknown as KernelFn | undefined),
      ...(originalInput?.setupFunc ? { setupFunc: originalInput.setupFunc } : {}),
    },
    maxPoolGradConfig,
    avgPoolGradConfig,
    depthwiseFilterConfig,
    depthwiseInputConfig,
    unsortedSegmentSumConfig,
    einsumConfig,
    ...fusedKernelConfigs,
    ...recurrentKernelConfigs,
    ...around(tf.Conv2D, conv2dWinograd),
    ...around(tf.FusedConv2D, fusedConv2dWinograd),
    ...around(tf.BatchMatMul, batchMatMul),
    ...around(tf._FusedMatMul, fusedBatchMatMul),
    ...around(tf.Transpose, transpose),
    ...around(tf.GatherV2, gatherV2),
    ...around(tf.Identity, identity),
    ...around(tf.Cast, cast),
    ...around(tf.Relu, reluForward),
    ...around(tf.Slice, slice),
    ...around(tf.Sum, sumLeadingAxes),
  ];
}

/**
 * Registers every training kernel for backend 'wasm' (and the chained tensor methods tfjs-layers
 * needs in Node). Idempotent; importing this package calls it.
 */
export function registerWasmTrainingKernels(): void {
  installChainedOps();
  installFusedOps();
  installRecurrentFusion();
  if (registered) return;
  for (const name of WASM_TRAINING_KERNELS) {
    if (!originals.has(name)) originals.set(name, tf.getKernel(name, WASM_BACKEND));
  }
  for (const k of kernels()) {
    if (tf.getKernel(k.kernelName, WASM_BACKEND)) tf.unregisterKernel(k.kernelName, WASM_BACKEND);
    tf.registerKernel({
      ...k,
      backendName: WASM_BACKEND,
      kernelFunc: k.kernelFunc as unknown as tf.KernelFunc,
    });
  }
  registered = true;
}

/** Puts back what tfjs-backend-wasm had registered (for A/B measurements). */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  for (const name of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(name, WASM_BACKEND)) tf.unregisterKernel(name, WASM_BACKEND);
    const original = originals.get(name);
    if (original) tf.registerKernel(original);
  }
  registered = false;
}

/**
 * Registers the kernels, then selects and initialises the wasm backend (binaries from the installed
 * package). `threads` (default: TFPIPE_WASM_THREADS, else 'auto' = every core) picks the multithreaded
 * build when above 1; it only applies if the wasm backend has not started yet in this thread.
 */
export async function useWasmBackend(options: { threads?: number | 'auto' } = {}): Promise<void> {
  registerWasmTrainingKernels();
  installThreadedWasm();
  if (options.threads !== undefined) setWasmThreads(options.threads);
  const ok = await tf.setBackend(WASM_BACKEND);
  if (!ok) throw new Error('the wasm backend failed to initialise');
  await tf.ready();
}

import * as tf from '@tensorflow/tfjs-core';
// Registers the 'wasm' backend and its own kernels first, so ours replace them and not the reverse.
import '@tensorflow/tfjs-backend-wasm';
import { installChainedOps } from '@tfpipe/core';
import { conv2DBackpropFilter, conv2DBackpropInput } from './kernels/conv2d-backprop.js';
import { depthwiseFilterConfig, depthwiseInputConfig } from './kernels/depthwise-backprop.js';
import { einsumConfig } from './kernels/einsum.js';
import { avgPoolGradConfig, maxPoolGradConfig } from './kernels/pool-grad.js';
import { batchMatMul } from './kernels/batch-matmul.js';
import { gatherV2 } from './kernels/gather.js';
import { identity } from './kernels/identity.js';
import { transpose } from './kernels/transpose.js';
import { slice } from './kernels/slice.js';
import { sumLeadingAxes } from './kernels/sum.js';
import { unsortedSegmentSumConfig } from './kernels/unsorted-segment-sum.js';
import { installThreadedWasm, setWasmThreads } from './threaded.js';
import type { KernelArgs } from './wasm-heap.js';

export const WASM_BACKEND = 'wasm';

/** The kernels this package registers for 'wasm': missing ones (added) and slow ones (replaced). */
export const WASM_TRAINING_KERNELS = [
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
  tf.BatchMatMul,
  tf.Transpose,
  tf.GatherV2,
] as const;

type Kernel = { kernelName: string; kernelFunc: (args: KernelArgs) => tf.TensorInfo; setupFunc?: tf.KernelSetupFunc };

/** What tfjs-backend-wasm had registered under the names we replace (kept for fallbacks and for unregister). */
const originals = new Map<string, tf.KernelConfig | undefined>();
let registered = false;

function kernels(): Kernel[] {
  const originalInput = originals.get(tf.Conv2DBackpropInput);
  const slowInput = originalInput?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  const originalSum = originals.get(tf.Sum)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  // The original Sum wraps its C function in its setup: keep it, every other sum still runs there.
  const sumSetup = originals.get(tf.Sum)?.setupFunc;
  const originalSlice = originals.get(tf.Slice)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  const originalIdentity = originals.get(tf.Identity)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  const originalMatMul = originals.get(tf.BatchMatMul)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  // The original wraps its C function in its setup: keep it.
  const matMulSetup = originals.get(tf.BatchMatMul)?.setupFunc;
  const originalTranspose = originals.get(tf.Transpose)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  const transposeSetup = originals.get(tf.Transpose)?.setupFunc;
  const originalGather = originals.get(tf.GatherV2)?.kernelFunc as ((a: KernelArgs) => tf.TensorInfo) | undefined;
  const gatherSetup = originals.get(tf.GatherV2)?.setupFunc;
  return [
    { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
    {
      kernelName: tf.Conv2DBackpropInput,
      kernelFunc: (args) => conv2DBackpropInput(args, slowInput),
      // The original's setup wraps its C function; keep it so the fallback works on a fresh backend.
      ...(originalInput?.setupFunc ? { setupFunc: originalInput.setupFunc } : {}),
    },
    maxPoolGradConfig,
    avgPoolGradConfig,
    depthwiseFilterConfig,
    depthwiseInputConfig,
    unsortedSegmentSumConfig,
    einsumConfig,
    ...(originalMatMul
      ? [{ kernelName: tf.BatchMatMul, kernelFunc: (args: KernelArgs) => batchMatMul(args, originalMatMul), ...(matMulSetup ? { setupFunc: matMulSetup } : {}) }]
      : []),
    ...(originalTranspose
      ? [{ kernelName: tf.Transpose, kernelFunc: (args: KernelArgs) => transpose(args, originalTranspose), ...(transposeSetup ? { setupFunc: transposeSetup } : {}) }]
      : []),
    ...(originalGather
      ? [{ kernelName: tf.GatherV2, kernelFunc: (args: KernelArgs) => gatherV2(args, originalGather), ...(gatherSetup ? { setupFunc: gatherSetup } : {}) }]
      : []),
    ...(originalIdentity ? [{ kernelName: tf.Identity, kernelFunc: (args: KernelArgs) => identity(args, originalIdentity) }] : []),
    ...(originalSlice ? [{ kernelName: tf.Slice, kernelFunc: (args: KernelArgs) => slice(args, originalSlice) }] : []),
    ...(originalSum ? [{ kernelName: tf.Sum, kernelFunc: (args: KernelArgs) => sumLeadingAxes(args, originalSum), ...(sumSetup ? { setupFunc: sumSetup } : {}) }] : []),
  ];
}

/**
 * Registers every training kernel for backend 'wasm' (and the chained tensor methods tfjs-layers
 * needs in Node). Idempotent; importing this package calls it.
 */
export function registerWasmTrainingKernels(): void {
  installChainedOps();
  if (registered) return;
  for (const name of WASM_TRAINING_KERNELS) {
    if (!originals.has(name)) originals.set(name, tf.getKernel(name, WASM_BACKEND));
  }
  for (const k of kernels()) {
    if (tf.getKernel(k.kernelName, WASM_BACKEND)) tf.unregisterKernel(k.kernelName, WASM_BACKEND);
    tf.registerKernel({ ...k, backendName: WASM_BACKEND, kernelFunc: k.kernelFunc as unknown as tf.KernelFunc });
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

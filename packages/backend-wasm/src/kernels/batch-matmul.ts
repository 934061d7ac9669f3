import * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { disposeInfos, type Epilogue, fusedEpilogue, type KernelArgs, runWasmKernel, type WasmBackend } from '../wasm-heap.js';

/** Multiply-adds from which a GEMM is worth sharing with the helper thread (~40 us on one). */
const HELPER_MACS = 1 << 17;

/**
 * a x b (transposes applied) in our SIMD kernels, or undefined when they do not take it: products whose last
 * dim is a multiple of 8 (batched or not) in our 4x8-register GEMM (+ bias, ReLU), which has none of XNNPACK's
 * per-call operator set-up and weight packing (an LSTM step's 32x64 by 64x256: 17 us against 34 on one
 * thread, 48 on two), on both threads when big enough; batches whose last dim is a multiple of 4 in the
 * plainer batch_matmul kernel (the stock kernel ran attention's per-head matmuls at ~2 GFLOP/s). A transpose
 * flag becomes an explicit transpose: tfjs-backend-wasm's kernel is 10-15x slower with one (an LSTM step's
 * gradient a[32,64]^T x b[32,256]: 327 us against 32 us), and every dense or recurrent gradient sets one.
 */
function ourProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue,
  original: ((at: tf.TensorInfo, bt: tf.TensorInfo) => tf.TensorInfo) | undefined,
): tf.TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const n = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
  const batch = Math.max(batchA, batchB);
  const sameBatch = batchA === 1 || batchB === 1 || outerA.join() === outerB.join();
  const simd = sameBatch && n % 4 === 0 ? simdKernels(backend) : undefined;
  const gemm = simd !== undefined && n % 8 === 0;
  const plainBatched = simd !== undefined && !gemm && batch > 1 && !epilogue.bias && !epilogue.relu;
  // Without a kernel of ours, only a transpose flag is worth taking over (then the original does the product).
  if (!gemm && !plainBatched && !(original && (transposeA || transposeB))) return undefined;
  const swapLast = (t: tf.TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return runWasmKernel(backend, tf.Transpose, { x: t }, { perm });
  };
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(b) : b;
  const [m, k] = at.shape.slice(-2) as [number, number];
  let out: tf.TensorInfo;
  if (gemm || plainBatched) {
    out = backend.makeOutput([...(batchA >= batchB ? outerA : outerB), m, n], 'float32');
    const [ao, bo, co] = [heapOffset(backend, at), heapOffset(backend, bt), heapOffset(backend, out)];
    if (plainBatched) {
      simd!.batch_matmul(ao, bo, co, batchA, batchB, m, k, n);
    } else {
      const bias = epilogue.bias ? heapOffset(backend, epilogue.bias) : 0;
      const relu = epilogue.relu ? 1 : 0;
      const helper = batch * m * k * n >= HELPER_MACS ? simdHelper(backend) : undefined;
      if (batch === 1) {
        runShared(simd!, { name: 'gemm_rows_range', args: [ao, bo, co, 0, m, k, n, bias, relu], range: 3, items: m, step: 4 * Math.ceil(m / 64) }, helper);
      } else {
        const args = [ao, bo, co, 0, batch, batchA, batchB, m, k, n, bias, relu];
        runShared(simd!, { name: 'gemm_batch_range', args, range: 3, items: batch, step: Math.ceil(batch / 16) }, helper);
      }
    }
  } else {
    out = original!(at, bt);
  }
  if (at !== a) disposeInfos(backend, at);
  if (bt !== b) disposeInfos(backend, bt);
  return out;
}

/** BatchMatMul: ours (see ourProduct), else the backend's. */
export function batchMatMul(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const plain = (at: tf.TensorInfo, bt: tf.TensorInfo) => original({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  return ourProduct(backend, a, b, attrs.transposeA === true, attrs.transposeB === true, {}, plain) ?? original(args);
}

/**
 * _FusedMatMul (tfjs-layers' Dense: inference, and a linear layer in training): ours with the bias and ReLU in
 * the GEMM's last pass, for no bias or one per output column and no activation or ReLU; else the original.
 */
export function fusedBatchMatMul(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const n = b.shape[b.shape.length - (attrs.transposeB ? 2 : 1)]!;
  const epilogue = fusedEpilogue(inputs, attrs, n);
  if (!epilogue) return original(args);
  return ourProduct(backend, a, b, attrs.transposeA === true, attrs.transposeB === true, epilogue, undefined) ?? original(args);
}

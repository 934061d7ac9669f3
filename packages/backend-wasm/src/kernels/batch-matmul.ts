import * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { disposeInfos, type KernelArgs, runWasmKernel } from '../wasm-heap.js';

/**
 * BatchMatMul with transposeA / transposeB as an explicit transpose followed by the plain product.
 * tfjs-backend-wasm's kernel is 10-15x slower with either flag set (an LSTM step's gradient products,
 * a[32,64]^T x b[32,256]: 327 us against 32 us without the flag), and every dense layer's gradients use
 * them (dW = x^T dy, dx = dy W^T). The transpose is one pass over the operand. Products whose last dim is a
 * multiple of 8 (and batches whose is one of 4: attention's per-head matmuls, which the stock kernel ran at
 * ~2 GFLOP/s) go to our SIMD kernels.
 */
/** Multiply-adds from which a GEMM is worth sharing with the helper thread (~40 us on one). */
const HELPER_MACS = 1 << 17;

export function batchMatMul(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const n = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
  const sameBatch = batchA === 1 || batchB === 1 || outerA.join() === outerB.join();
  // Our SIMD GEMMs: 4x8 register blocks without XNNPACK's per-call operator set-up and weight packing (an LSTM
  // step's 32x64 by 64x256: 17 us against 34 on one thread, 48 on two), on both threads when big enough;
  // n not a multiple of 8 but of 4, in batches: the plainer batch_matmul kernel.
  const simd = sameBatch && n % 4 === 0 ? simdKernels(backend) : undefined;
  const gemm = simd !== undefined && n % 8 === 0;
  if (!gemm && !(simd && Math.max(batchA, batchB) > 1) && !transposeA && !transposeB) return original(args);
  const swapLast = (t: tf.TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return runWasmKernel(backend, tf.Transpose, { x: t }, { perm });
  };
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(b) : b;
  const [m, k] = at.shape.slice(-2) as [number, number];
  const batch = Math.max(batchA, batchB);
  let out: tf.TensorInfo;
  if (simd && (gemm || batch > 1)) {
    const outer = batchA >= batchB ? outerA : outerB;
    out = backend.makeOutput([...outer, m, n], 'float32');
    const [ao, bo, co] = [heapOffset(backend, at), heapOffset(backend, bt), heapOffset(backend, out)];
    if (!gemm) {
      simd.batch_matmul(ao, bo, co, batchA, batchB, m, k, n);
    } else {
      const helper = batch * m * k * n >= HELPER_MACS ? simdHelper(backend) : undefined;
      if (batch === 1) {
        runShared(simd, { name: 'gemm_rows_range', args: [ao, bo, co, 0, m, k, n], range: 3, items: m, step: 4 * Math.ceil(m / 64) }, helper);
      } else {
        const args = [ao, bo, co, 0, batch, batchA, batchB, m, k, n];
        runShared(simd, { name: 'gemm_batch_range', args, range: 3, items: batch, step: Math.ceil(batch / 16) }, helper);
      }
    }
  } else {
    out = original({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  }
  if (at !== a) disposeInfos(backend, at);
  if (bt !== b) disposeInfos(backend, bt);
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { disposeInfos, type KernelArgs, runWasmKernel } from '../wasm-heap.js';

/**
 * BatchMatMul with transposeA / transposeB as an explicit transpose followed by the plain product.
 * tfjs-backend-wasm's kernel is 10-15x slower with either flag set (an LSTM step's gradient products,
 * a[32,64]^T x b[32,256]: 327 us against 32 us without the flag), and every dense layer's gradients use
 * them (dW = x^T dy, dx = dy W^T). The transpose is one pass over the operand. Batches of products
 * (attention's per-head matmuls) go to our SIMD kernel: the stock one ran them at ~2 GFLOP/s.
 */
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
  // Many small products (a batch, the same batch shape on both sides or one side single): our SIMD
  // kernel; the stock one runs them one at a time, slowly.
  const sameBatch = batchA === 1 || batchB === 1 || outerA.join() === outerB.join();
  const simd = Math.max(batchA, batchB) > 1 && sameBatch && n % 4 === 0 ? simdKernels(backend) : undefined;
  if (!simd && !transposeA && !transposeB) return original(args);
  const swapLast = (t: tf.TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return runWasmKernel(backend, tf.Transpose, { x: t }, { perm });
  };
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(b) : b;
  let out: tf.TensorInfo;
  if (simd) {
    const [m, k] = at.shape.slice(-2) as [number, number];
    const outer = batchA >= batchB ? outerA : outerB;
    out = backend.makeOutput([...(outer.length ? outer : [1]), m, n], 'float32');
    simd.batch_matmul(heapOffset(backend, at), heapOffset(backend, bt), heapOffset(backend, out), batchA, batchB, m, k, n);
  } else {
    out = original({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  }
  if (at !== a) disposeInfos(backend, at);
  if (bt !== b) disposeInfos(backend, bt);
  return out;
}

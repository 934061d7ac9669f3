import * as tf from '@tensorflow/tfjs-core';
import { disposeInfos, type KernelArgs, runWasmKernel } from '../wasm-heap.js';

/**
 * BatchMatMul with transposeA / transposeB as an explicit transpose followed by the plain product.
 * tfjs-backend-wasm's kernel is 10-15x slower with either flag set (an LSTM step's gradient products,
 * a[32,64]^T x b[32,256]: 327 us against 32 us without the flag), and every dense layer's gradients use
 * them (dW = x^T dy, dx = dy W^T). The transpose is one pass over the operand.
 */
export function batchMatMul(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
  const swapLast = (t: tf.TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return runWasmKernel(backend, tf.Transpose, { x: t }, { perm });
  };
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(b) : b;
  const out = original({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  if (at !== a) disposeInfos(backend, at);
  if (bt !== b) disposeInfos(backend, bt);
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, runWasmKernel } from '../wasm-heap.js';

/**
 * Einsum, forward only (tfjs-core registers no gradient for it). The cpu backend's algorithm
 * (transpose and broadcast every operand to the full index space, multiply, sum out contracted
 * indices) over the wasm backend's Transpose, Reshape, Multiply and Sum kernels.
 */
export function einsum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const equation = attrs.equation as string;
  const tensors = inputs as unknown as tf.TensorInfo[];
  const bu = tf.backend_util;
  const { allDims, summedDims, idDims } = bu.decodeEinsumEquation(equation, tensors.length);
  bu.checkEinsumDimSizes(allDims.length, idDims, tensors as tf.Tensor[]);
  const { path, steps } = bu.getEinsumComputePath(summedDims, idDims);
  let out: tf.TensorInfo | null = null;
  let remaining = allDims.length;
  const made: tf.TensorInfo[] = [];
  for (let i = 0; i < steps.length; i++) {
    for (const term of steps[i]!) {
      const { permutationIndices: perm, expandDims } = bu.getEinsumPermutation(remaining, idDims[term]!);
      let x = tensors[term]!;
      if (!bu.isIdentityPermutation(perm)) {
        x = runWasmKernel(backend, tf.Transpose, { x }, { perm });
        made.push(x);
      }
      const target = x.shape.slice();
      for (const k of expandDims) target.splice(k, 0, 1);
      if (!tf.util.arraysEqual(x.shape, target)) {
        x = runWasmKernel(backend, tf.Reshape, { x }, { shape: target });
        made.push(x);
      }
      out = out === null ? x : runWasmKernel(backend, tf.Multiply, { a: x, b: out });
      if (!made.includes(out)) made.push(out);
    }
    if (i < steps.length - 1) {
      if (path[i]! >= 0) {
        out = runWasmKernel(backend, tf.Sum, { x: out! }, { axis: path[i]! - (allDims.length - remaining), keepDims: false });
        made.push(out);
      }
      remaining--;
    }
  }
  if (out === null) throw new Error(`einsum: nothing to compute for equation ${equation}`);
  // An operand passed straight through must be copied: the output needs its own buffer.
  if (!made.includes(out)) out = runWasmKernel(backend, tf.Identity, { x: out });
  for (const t of made) if (t !== out) backend.disposeData(t.dataId);
  return out;
}

export const einsumConfig = { kernelName: tf.Einsum, kernelFunc: einsum };

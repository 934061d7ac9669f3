import type * as tf from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../simd/instance.js';
import type { KernelArgs } from '../wasm-heap.js';

/**
 * Transpose in our SIMD kernel for matrices (and batches of them), and in JS over the heap for what tfjs-backend-wasm's C kernel does slowly: more than 4 axes
 * ([3,32,4,48,16] by [1,3,0,2,4], the Transformer's q/k/v split: 13.6 ms there, 0.6 ms here) and plain
 * matrix transposes ([1536,64]: 0.45 -> 0.16 ms). Axes are merged first (size-1 axes dropped, neighbours
 * that stay neighbours fused), then one walk over the output carries the input offset along. Everything
 * else, and strings, go to the original.
 */
export function transpose(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return original(args);
  const perm = attrs.perm as number[];
  // Collapse: keep axes of size > 1, in output order, each with its input stride; fuse an output axis
  // into the previous one when it is the next input axis (contiguous in both).
  const inStrides = new Array<number>(x.shape.length);
  for (let i = x.shape.length - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= x.shape[i]!;
  }
  const dims: number[] = [];
  const strides: number[] = [];
  let lastAxis = -2;
  for (const p of perm) {
    const size = x.shape[p]!;
    if (size === 1) continue;
    if (p === lastAxis + 1 && dims.length > 0) {
      dims[dims.length - 1]! *= size;
      strides[strides.length - 1] = inStrides[p]!;
    } else {
      dims.push(size);
      strides.push(inStrides[p]!);
    }
    lastAxis = p;
  }
  const rank = dims.length;
  const outShape = perm.map((p) => x.shape[p]!);
  // A matrix, or a batch of matrices, with its last two axes swapped ([B,] C, R with input strides
  // [R*C,] 1, C): 4x4 register transposes in our SIMD kernel (a dense layer's [1600,10] weights in its
  // gradient: 40 us in JS, 4 here; [5408,32]: 0.39 ms in the C kernel, 0.02 here).
  const batched = rank === 3 && strides[0] === dims[1]! * dims[2]!;
  if ((rank === 2 || batched) && x.dtype !== 'bool' && strides[rank - 2] === 1 && strides[rank - 1] === dims[rank - 2]) {
    const simd = simdKernels(backend);
    if (simd) {
      const out = backend.makeOutput(outShape, x.dtype);
      const [cols, rows] = [dims[rank - 2]!, dims[rank - 1]!];
      const batch = batched ? dims[0]! : 1;
      const [src, dst] = [heapOffset(backend, x), heapOffset(backend, out)];
      for (let b = 0; b < batch; b++) simd.transpose_2d(src + b * rows * cols * 4, dst + b * rows * cols * 4, rows, cols);
      return out;
    }
  }
  // Where the C kernel is fast (up to 4 axes, except a plain matrix transpose) it keeps the work: it copies
  // contiguous runs with memcpy, which JS cannot match ([32,4,48,16] by [0,2,1,3]: 0.03 ms there, 0.16 here).
  const bigAxes = x.shape.filter((d) => d > 1).length;
  if (bigAxes <= 4 && !(rank === 2 && strides[1] !== 1)) return original(args);
  const out = backend.makeOutput(outShape, x.dtype);
  const n = outShape.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  if (rank <= 1) {
    dst.set(src.subarray(0, n));
    return out;
  }
  const inner = dims[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const idx = new Array<number>(rank - 1).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += inner) {
    if (innerStride === 1) {
      for (let j = 0; j < inner; j++) dst[o + j] = src[base + j]!;
    } else {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) dst[o + j] = src[s]!;
    }
    // Next output row: advance the odometer over the outer axes, carrying the input offset.
    for (let d = rank - 2; d >= 0; d--) {
      base += strides[d]!;
      if (++idx[d]! < dims[d]!) break;
      base -= strides[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../wasm-heap.js';

/**
 * Slice that reads its input in place. tfjs-backend-wasm's Slice starts with `backend.readSync(x)`, which
 * copies the whole input out of the wasm heap: taking 128 rows of an 8,192-image tensor cost 8.8 ms (the
 * copy of all 8,192) instead of 0.05 ms. Here the input is a view on the heap and only the slice is
 * copied, in contiguous runs. Strings go to the original kernel.
 */
export function slice(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return original(args);
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin as number | number[], attrs.size as number | number[]) as [number[], number[]];
  const out = backend.makeOutput(size, x.dtype);
  const n = tf.util.sizeFromShape(size);
  if (n === 0) return out;
  // Views only after makeOutput: an allocation can grow the heap, which detaches earlier views.
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    ov.set(xv.subarray(offset, offset + n));
    return out;
  }
  // Copy runs along the last axis, walking the other axes like an odometer.
  const rank = x.shape.length;
  const run = size[rank - 1]!;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < n; o += run) {
    let offset = begin[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) offset += (begin[d]! + idx[d]!) * strides[d]!;
    ov.set(xv.subarray(offset, offset + run), o);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < size[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

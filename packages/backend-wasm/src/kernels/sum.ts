import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { f32, type KernelArgs } from '../wasm-heap.js';

/**
 * Sum over leading axes (a bias gradient: dy [n, h, w, c] summed over n, h, w) as one pass of
 * row additions. tfjs-backend-wasm's Sum first transposes the reduced axes to the end, a full copy of
 * the tensor: this is 3x faster on the MNIST CNN's conv bias gradients. Every other sum goes to the
 * original kernel.
 */
export function sumLeadingAxes(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (!leading || x.dtype !== 'float32') return original(args);
  const kept = x.shape.slice(axes.length);
  const inner = tf.util.sizeFromShape(kept);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  if (inner * rows === 0) return original(args);
  const out = backend.makeOutput(attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
  const simd = inner % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    simd.sum_rows(heapOffset(backend, x), heapOffset(backend, out), rows, inner);
    return out;
  }
  const src = f32(backend, x);
  const dst = f32(backend, out);
  // Four rows at a time into a local accumulator: a quarter of the read-modify-writes of one row at a time.
  const acc = new Float32Array(inner);
  let r = 0;
  let i = 0;
  for (; r + 4 <= rows; r += 4, i += 4 * inner) {
    const i1 = i + inner;
    const i2 = i1 + inner;
    const i3 = i2 + inner;
    for (let j = 0; j < inner; j++) acc[j]! += src[i + j]! + src[i1 + j]! + (src[i2 + j]! + src[i3 + j]!);
  }
  for (; r < rows; r++, i += inner) for (let j = 0; j < inner; j++) acc[j]! += src[i + j]!;
  dst.set(acc);
  return out;
}

import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, WasmBackend } from '../wasm-heap.js';

/**
 * UnsortedSegmentSum (the gradient of gather, so embeddings can train): out[ids[i], ...] += x[i, ...].
 * Ids outside [0, numSegments) are dropped, as in TensorFlow. One pass, O(size of x).
 */
export function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const numSegments = attrs.numSegments as number;
  const idsSize = tf.util.sizeFromShape(segmentIds.shape);
  const inner = idsSize === 0 ? 0 : tf.util.sizeFromShape(x.shape) / idsSize;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
  const out = backend.makeOutput(outShape, dtype);
  // Views after the allocation above (it may grow the heap).
  const o = backend.typedArrayFromHeap(out);
  o.fill(0);
  const xv = readAs(backend, x, dtype);
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  for (let i = 0; i < idsSize; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j]! += xv[src + j]!;
  }
  return out;
}

function readAs(backend: WasmBackend, x: tf.TensorInfo, dtype: 'int32' | 'float32'): ArrayLike<number> {
  if (x.dtype === 'float32' || x.dtype === 'int32') return backend.typedArrayFromHeap(x);
  if (x.dtype === 'bool') return backend.typedArrayFromHeap(x);
  throw new Error(`UnsortedSegmentSum on wasm: unsupported dtype ${x.dtype} (allowed: float32, int32, bool) for ${dtype} output`);
}

export const unsortedSegmentSumConfig = { kernelName: tf.UnsortedSegmentSum, kernelFunc: unsortedSegmentSum };

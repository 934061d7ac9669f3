import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../wasm-heap.js';

/** The output shares the input's memory: one more reference to it, no copy. */
function share(args: KernelArgs, x: tf.TensorInfo): tf.TensorInfo {
  (args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Identity without a copy: the output shares the input's memory (one more reference to it), as the
 * cpu backend's Identity does; tensors are immutable, so sharing is safe. tfjs-backend-wasm copies the
 * data, which tfjs-layers makes it do for every conv activation in training (0.56 ms a step on the MNIST
 * CNN). Strings go to the original kernel.
 */
export function identity(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return original(args);
  return share(args, x);
}

/**
 * Cast to the dtype the tensor already has, without a copy (the cpu backend does the same). ReLU's
 * gradient casts its float32 step mask to float32: a copy of every activation in every step (0.16 ms a
 * step on the MNIST CNN). Casts to bool are "not zero" (the original truncates to a byte); other casts go to
 * the original kernel.
 */
export function cast(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return original(args);
  if (x.dtype === args.attrs.dtype) return share(args, x);
  if (args.attrs.dtype === 'bool') {
    // tfjs-backend-wasm 4.22 truncates to a byte (-2 becomes 254, 256 becomes 0); a bool is "not zero".
    const out = args.backend.makeOutput(x.shape, 'bool');
    const dst = args.backend.typedArrayFromHeap(out);
    const src = args.backend.typedArrayFromHeap(x);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  return original(args);
}

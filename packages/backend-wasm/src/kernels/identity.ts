import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../wasm-heap.js';

/**
 * Identity without a copy: the output shares the input's memory (one more reference to it), as the
 * cpu backend's Identity does; tensors are immutable, so sharing is safe. tfjs-backend-wasm copies the
 * data, which tfjs-layers makes it do for every conv activation in training (0.56 ms a step on the MNIST
 * CNN). Strings go to the original kernel.
 */
export function identity(args: KernelArgs, original: (a: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return original(args);
  (args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

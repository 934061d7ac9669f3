import { availableParallelism } from 'node:os';
import { parallelWorkload } from '../training/parallel.js';

export const workload = parallelWorkload(
  'mnist-cnn',
  'MNIST CNN on wasm, data-parallel gradients over worker_threads (createDataParallel) vs model.fit on one thread: train samples/s',
  { train: 2048, infer: 1024 },
  { train: 256, infer: 256 },
  [0, ...Array.from({ length: Math.max(1, availableParallelism() - 1) }, (_, i) => i + 1)],
);

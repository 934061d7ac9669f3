import { availableParallelism } from 'node:os';
import { parallelWorkload } from '../training/parallel.js';

// 0 workers (the loop's own overhead), then 1 .. cores-1 workers.
const counts = [0, ...Array.from({ length: Math.max(1, availableParallelism() - 1) }, (_, i) => i + 1)];

export const workloads = [
  parallelWorkload(
    'mnist-cnn',
    'MNIST CNN on wasm, data-parallel gradients over worker_threads (createDataParallel) vs model.fit on one thread: train samples/s',
    { train: 2048, infer: 1024 },
    { train: 256, infer: 256 },
    counts,
  ),
  parallelWorkload('text-lstm', 'Embedding + LSTM on wasm, data-parallel over worker_threads vs model.fit (opt-in)', { train: 512, infer: 256 }, { train: 128, infer: 128 }, counts, true),
  parallelWorkload('text-transformer', 'Transformer encoder block on wasm, data-parallel over worker_threads vs model.fit (opt-in)', { train: 512, infer: 256 }, { train: 128, infer: 128 }, counts, true),
];

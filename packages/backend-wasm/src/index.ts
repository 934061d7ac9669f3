import { packageVersion } from '@tfpipe/core';
import { registerWasmTrainingKernels } from './register.js';
import { installThreadedWasm } from './threaded.js';

export { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useWasmBackend, WASM_TRAINING_KERNELS, WASM_BACKEND } from './register.js';
export { installChainedOps } from '@tfpipe/core';
export { installThreadedWasm, MAX_WASM_THREADS, resolveWasmThreads, setWasmThreads, threadedBuildFiles, wasmPoolSpinPatched, wasmThreadsFallbackReason, wasmThreadsFor, wasmThreadsInUse } from './threaded.js';
export { balancedSizes, createDataParallel, shardSizes } from './parallel/data-parallel.js';
export type { ComputeOptions, DataParallel, DataParallelGradients, DataParallelOptions } from './parallel/data-parallel.js';
export { namedShardLoss, SHARD_LOSS_NAMES } from './parallel/shard-loss.js';
export type { ShardLoss, ShardLossFactory, ShardLossName, ShardLossSpec } from './parallel/shard-loss.js';
export type { WorkerSetup } from './parallel/worker.js';
export { setSimdHelperEnabled } from './simd/helper.js';
export { simdKernelsFallbackReason } from './simd/instance.js';
export { setWinogradEnabled } from './kernels/winograd.js';
/** This package's version, read from its package.json. */
export const VERSION = packageVersion(import.meta.url);

// Importing the package makes 'wasm' train (the package is sideEffects: true on purpose).
registerWasmTrainingKernels();
// ...and multithreaded: 'wasm' starts the threaded build (XNNPACK on every core) unless told otherwise.
installThreadedWasm();

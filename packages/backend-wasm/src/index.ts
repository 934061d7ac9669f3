import { registerWasmTrainingKernels } from './register.js';

export { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useWasmBackend, WASM_TRAINING_KERNELS, WASM_BACKEND } from './register.js';
export { installChainedOps } from './chained-ops.js';
export const VERSION = '0.1.0';

// Importing the package makes 'wasm' train (the package is sideEffects: true on purpose).
registerWasmTrainingKernels();

// Run as a child process by threaded.test.ts: starts the wasm backend, trains one CNN step, prints the
// thread count and a checksum, and then simply ends (no process.exit: the test checks that it exits).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend, wasmThreadsFallbackReason, wasmThreadsInUse } from '../index.js';

await useWasmBackend();
const model = tfl.sequential({
  layers: [
    tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1], kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
  ],
});
model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
const x = tf.linspace(-1, 1, 8 * 144).reshape([8, 12, 12, 1]);
const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 1, 0], 'int32'), 2);
const loss = (await model.trainOnBatch(x, y)) as number;
console.log(`threads ${wasmThreadsInUse()} fallback ${wasmThreadsFallbackReason() ?? 'none'} loss ${loss.toFixed(6)}`);

// Run as a child process: creates two data-parallel helpers, disposes one, forgets the other; the process
// must still exit on its own (workers are unref'd) with the gradients printed.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createDataParallel, useWasmBackend } from '../../index.js';

await useWasmBackend();
const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })] });
const xs = tf.tensor2d([[1, 2, 3], [0, 1, 0], [2, 0, 1], [1, 1, 1]]);
const ys = tf.tensor2d([[1, 0], [0, 1], [1, 0], [0, 1]]);
const a = await createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropy' });
const r = await a.computeGradients(xs, ys);
console.log(`loss ${r.loss.dataSync()[0]}`);
tf.dispose([r.loss, r.grads]);
await a.dispose();
const b = await createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropy' });
const r2 = await b.computeGradients(xs, ys);
console.log(`loss ${r2.loss.dataSync()[0]}`);
// b is not disposed on purpose.

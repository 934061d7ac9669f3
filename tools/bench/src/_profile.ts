// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
// Interleaved A/B rounds (0 vs 1 worker, batch 32), best and median round throughput: robust to a shared machine.
import * as tf from '@tensorflow/tfjs-core';
import { createDataParallel } from '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import { benchData } from './training/data.js';
import { buildModel } from './training/models.js';

await useBackend('wasm');
const model = buildModel('mnist-cnn');
const data = benchData('mnist-cnn', 512);
const opt = tf.train.adam(1e-3);
const names = ['0 workers', '1 worker even', '1 worker adaptive'];
const dps = [
  await createDataParallel(model, { workers: 0, loss: 'categoricalCrossentropy' }),
  await createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropy', balance: 'even' }),
  await createDataParallel(model, { workers: 1, loss: 'categoricalCrossentropy' }),
];
const rounds: number[][] = [[], [], []];
const steps = 10;
for (let r = 0; r < 12; r++) {
  for (const k of [0, 1, 2]) {
    const dp = dps[k]!;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const i = (s * 32) % 448;
      const xs = data.xs.slice(i, 32), ys = data.ys.slice(i, 32);
      const { loss, grads } = await dp.computeGradients(xs, ys);
      opt.applyGradients(grads as never);
      loss.dataSync();
      tf.dispose([xs, ys, loss, grads]);
    }
    if (r > 0) rounds[k]!.push((steps * 32) / ((performance.now() - t0) / 1000));
  }
}
for (const k of [0, 1, 2]) {
  const a = rounds[k]!.sort((x, y) => x - y);
  console.log(`workers ${names[k]}: best ${a[a.length - 1]!.toFixed(0)} median ${a[Math.floor(a.length / 2)]!.toFixed(0)} samples/s`);
}
await Promise.all(dps.map((d) => d.dispose()));

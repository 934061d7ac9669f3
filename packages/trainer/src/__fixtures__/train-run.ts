// Trains tinyModel with fit() into a runDir, printing one line per step, for the SIGKILL resume test.
// Usage: train-run.ts <runDir> <epochs> [resume] [slowMs]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { tinyModel } from '@tfpipe/test-utils';
import { fit } from '../index.js';
import { tinyBatches } from './data.js';

const [runDir, epochs, resume, slowMs] = process.argv.slice(2);
await tf.setBackend('cpu');
const model = tinyModel();
const slow = Number(slowMs ?? 0);
const r = await fit(model, {
  config: { epochs: Number(epochs), optimizer: { type: 'adam', learningRate: 0.02 }, metrics: ['accuracy'], earlyStopping: { patience: 100 } },
  train: tinyBatches(),
  validation: () => tinyBatches({ dataSeed: 11 })(),
  task: { kind: 'multiclass', classes: 3 },
  runDir: runDir!,
  resume: resume === 'resume',
  seed: 5,
  onProgress: (e) => {
    if (e.type === 'step') process.stdout.write(`step ${e.epoch} ${e.step} ${e.globalStep}\n`);
    if (e.type === 'epoch') process.stdout.write(`epoch ${e.epoch}\n`);
  },
  callbacks: [
    {
      name: 'slow',
      // Slows steps down so the parent can kill the child in the middle of an epoch.
      onBatchEnd: () => new Promise((res) => setTimeout(res, slow)),
    },
  ],
});
process.stdout.write(`done ${r.stopReason} ${r.epochsRun} ${r.steps}\n`);

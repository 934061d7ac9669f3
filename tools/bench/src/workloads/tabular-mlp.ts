import { trainingWorkload } from '../training/run.js';

export const workload = trainingWorkload(
  'tabular-mlp',
  'MLP 32-128-128-4 (Adam, batch 32) on synthetic tabular data: train/infer samples/s',
  { train: 8192, infer: 32768 },
  { train: 1024, infer: 4096 },
);

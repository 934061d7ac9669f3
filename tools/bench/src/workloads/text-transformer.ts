import { trainingWorkload } from '../training/run.js';

export const workload = trainingWorkload(
  'text-transformer',
  'Embedding(2000, 64) + 1 encoder block (4 heads, FFN 128) over 48 tokens (Adam, batch 32): train/infer samples/s',
  { train: 1024, infer: 2048, per: { cpu: { train: 32, infer: 128 } } },
  { train: 128, infer: 256, per: { cpu: { train: 32, infer: 128 } } },
);

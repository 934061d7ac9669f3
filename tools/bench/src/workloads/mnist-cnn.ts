import { trainingWorkload } from '../training/run.js';

export const workload = trainingWorkload(
  'mnist-cnn',
  'MNIST CNN (Conv2D 32-MaxPool-Conv2D 64-MaxPool-Dense 10, Adam, batch 32) on real MNIST: train/infer samples/s',
  { train: 2048, infer: 8192, per: { cpu: { train: 32, infer: 256 } } },
  { train: 256, infer: 512, per: { cpu: { train: 32, infer: 128 } } },
  'auto', // a convolutional model: tfpipe runs it on every core (wasmThreadsFor)
);

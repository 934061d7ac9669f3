import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fileSystemIO, type InputSpec, type TaskSpec } from '@tfpipe/core';
import { buildModel } from '@tfpipe/models';
import { fit } from '@tfpipe/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchesOf } from './__fixtures__/batches.js';
import { mnistDigits } from './__fixtures__/mnist.js';
import { compareBeforeAfter } from './compare.js';
import { prepareFinetune } from './prepare.js';
import { runStages } from './stages.js';

// A small CNN trained on real MNIST digits 0-4, fine-tuned to digits 5-9 with a new head.
const task: TaskSpec = { kind: 'multiclass', classes: 5 };
const inputs: InputSpec[] = [{ name: 'image', shape: [14, 14, 1], kind: 'image' }];
let root: string;
let runDir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tfpipe-ft-mnist-'));
  runDir = join(root, 'base-run');
  const low = mnistDigits('train', [0, 1, 2, 3, 4], 300);
  const model = buildModel({ type: 'cnn', blocks: [{ filters: 8, batchNorm: true }, { filters: 16 }], globalPooling: 'flatten' }, { inputs, task, seed: 3 });
  await fit(model, { config: { epochs: 3, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.01 }, tensorboard: false }, train: batchesOf(low.x, low.y, [14, 14, 1], 5), task });
  const dir = join(runDir, 'model');
  await model.save(fileSystemIO(dir));
  // A run directory also holds the preprocessing states; the fine-tune hands them back unparsed.
  await writeFile(join(dir, 'preprocess.json'), JSON.stringify({ transforms: [{ type: 'scale', factor: 1 / 255 }] }));
  await writeFile(join(dir, 'tensorizer.json'), JSON.stringify({ labels: ['0', '1', '2', '3', '4'] }));
  await writeFile(join(dir, 'metadata.json'), JSON.stringify({ name: 'mnist-0-4', task }));
  model.dispose();
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('fine-tuning a CNN from digits 0-4 to digits 5-9', () => {
  it('replaces the head, freezes the convolutions, trains in two stages and beats the fresh head', async () => {
    const high = mnistDigits('train', [5, 6, 7, 8, 9], 300);
    const test = mnistDigits('t10k', [5, 6, 7, 8, 9], 300);
    const prepared = await prepareFinetune(
      { base: 'base-run', head: { dropTop: 1 }, freeze: 'conv2d_*', exclude: [] },
      { task, inputs, seed: 7, baseDir: root },
    );
    expect(prepared.base.preprocess).toEqual({ transforms: [{ type: 'scale', factor: 1 / 255 }] });
    expect(prepared.base.tensorizer).toEqual({ labels: ['0', '1', '2', '3', '4'] });
    expect(prepared.frozen).toEqual(['conv2d_0', 'conv2d_1']);
    expect(prepared.headLayers).toEqual(['output']);
    // Trainable: batch norm gamma/beta (8 + 8) and the new output layer on 3 x 3 x 16 features (144 x 5 + 5);
    // the total adds the convolutions (3x3x1x8 + 8, 3x3x8x16 + 16) and the batch-norm statistics (8 + 8).
    expect(prepared.trainableParams).toBe(16 + 725);
    expect(prepared.totalParams).toBe(80 + 32 + 1168 + 725);
    const conv = () => prepared.model.getLayer('conv2d_1').getWeights()[0]!.dataSync().slice();
    const conv0 = conv();
    const { stages, history } = await runStages(prepared.model, {
      config: { epochs: 1, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.01 }, tensorboard: false },
      stages: [
        { epochs: 4, freeze: 'all', learningRate: 0.01 },
        { epochs: 1, unfreeze: 'all', learningRate: 0.001 },
      ],
      freezable: prepared.freezable,
      train: batchesOf(high.x, high.y, [14, 14, 1], 5),
      task,
      runDir: join(root, 'ft-run'),
    });
    expect(stages.map((s) => [s.name, s.trainableParams])).toEqual([
      ['stage-1', 725],
      ['stage-2', prepared.totalParams - 16],
    ]);
    expect(history.map((h) => [h.epoch, h.stage, h.stageEpoch])).toEqual([[1, 1, 1], [2, 1, 2], [3, 1, 3], [4, 1, 4], [5, 2, 1]]);
    const lines = (await readFile(join(root, 'ft-run', 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).stage)).toEqual([1, 1, 1, 1, 2]);
    expect(conv().some((v, i) => v !== conv0[i])).toBe(true); // stage 2 trained the convolutions
    const cmp = await compareBeforeAfter(prepared.before, prepared.model, batchesOf(test.x, test.y, [14, 14, 1], 5, 100), { task, metrics: ['accuracy'] });
    console.log(`mnist 5-9: accuracy before (fresh head) ${cmp.before.metrics.accuracy!.toFixed(3)}, after ${cmp.after.metrics.accuracy!.toFixed(3)} on ${cmp.after.samples} test digits`);
    expect(cmp.after.samples).toBe(300);
    expect(cmp.delta.accuracy).toBeCloseTo(cmp.after.metrics.accuracy! - cmp.before.metrics.accuracy!, 12);
    expect(cmp.after.metrics.accuracy).toBeGreaterThan(0.65);
    expect(cmp.delta.accuracy).toBeGreaterThan(0.3);
    expect(cmp.delta.loss).toBeLessThan(0);
  });
});

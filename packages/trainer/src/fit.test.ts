import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectNoLeakedTensors, tinyModel } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTfpipeError, readJsonLines } from '@tfpipe/core';
import { fit } from './index.js';
import { tinyBatches } from './__fixtures__/data.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fit', () => {
  it('trains a tiny model: the loss falls and accuracy rises', async () => {
    const model = tinyModel();
    const r = await fit(model, {
      config: { epochs: 8, optimizer: { type: 'adam', learningRate: 0.05 }, metrics: ['accuracy'] },
      train: tinyBatches(),
      validation: () => tinyBatches({ dataSeed: 11 })(),
      task: { kind: 'multiclass', classes: 3 },
      seed: 1,
    });
    expect(r.history).toHaveLength(8);
    expect(r.stopReason).toBe('completed');
    expect(r.history[7]!.loss).toBeLessThan(r.history[0]!.loss);
    expect(r.history[7]!.val_accuracy).toBeGreaterThan(0.9);
    expect(r.steps).toBe(8 * 6);
  });
});

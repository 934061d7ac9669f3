import { createDataParallel, useWasmBackend } from '@tfpipe/backend-wasm';
import { expectTensorsClose, tinyModel } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit } from './index.js';
import { tinyBatches } from './__fixtures__/data.js';

const task = { kind: 'multiclass' as const, classes: 3 };

beforeAll(async () => {
  await useWasmBackend();
});

describe('train.parallel (data-parallel gradients over a worker thread)', () => {
  it('trains to the same weights and logs as the single-thread loop, with L2 and clipping', async () => {
    const config = { epochs: 2, optimizer: { type: 'adam' as const, learningRate: 0.01 }, metrics: ['accuracy'], regularization: { l2: 0.001 }, gradientClip: { norm: 1 } };
    const single = tinyModel(4, 3, 5);
    const a = await fit(single, { config, train: () => tinyBatches({ n: 8 })(), task });
    const parallel = tinyModel(4, 3, 5);
    const b = await fit(parallel, { config: { ...config, parallel: 1 }, train: () => tinyBatches({ n: 8 })(), task, dataParallel: createDataParallel });
    for (const [h1, h2] of a.history.map((h, i) => [h, b.history[i]!] as const)) {
      expect(h2.loss).toBeCloseTo(h1.loss, 4);
      expect(h2.accuracy).toBe(h1.accuracy);
    }
    const w1 = single.getWeights();
    const w2 = parallel.getWeights();
    for (const [i, w] of w1.entries()) expectTensorsClose(w2[i]!, w, 1e-4, 1e-3);
    single.dispose();
    parallel.dispose();
  }, 300_000);

  it('is a clear error without the worker pool', async () => {
    await expect(fit(tinyModel(), { config: { epochs: 1, parallel: 1 }, train: () => tinyBatches({ n: 2 })(), task })).rejects.toThrow(/train\.parallel needs the worker pool/);
  });
});

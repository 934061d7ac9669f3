import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonLines } from '@tfpipe/core';
import { expectNoLeakedTensors, tinyModel } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyBatches } from '../__fixtures__/data.js';
import { fit } from '../fit.js';
import { dpSgdEpsilon } from './accountant.js';

const task = { kind: 'multiclass' as const, classes: 3 };
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const base = { epochs: 3, batchSize: 8, optimizer: { type: 'sgd' as const, learningRate: 0.1 }, tensorboard: false };

describe('fit with train.privacy (DP-SGD)', () => {
  it('with no noise and a clip no gradient reaches, it trains exactly like the ordinary run', async () => {
    const plain = await fit(tinyModel(), { config: base, train: tinyBatches(), task, seed: 4 });
    const priv = await fit(tinyModel(), {
      config: { ...base, privacy: { type: 'dp-sgd', l2NormClip: 1e30, noiseMultiplier: 0, sampling: 'shuffle' } },
      train: tinyBatches(),
      task,
      seed: 4,
      datasetSize: 48,
    });
    for (const [i, h] of priv.history.entries()) expect(h.loss).toBeCloseTo(plain.history[i]!.loss, 5);
    expect(priv.history.at(-1)!.epsilon).toBe(Number.POSITIVE_INFINITY);
  });

  it('writes epsilon per epoch into metrics.jsonl, as the accountant computes it; same seed, same numbers', async () => {
    const run = async () => {
      const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-dp-'));
      await fit(tinyModel(), {
        config: { ...base, privacy: { type: 'dp-sgd', l2NormClip: 1, noiseMultiplier: 1.1, delta: 1e-3, sampling: 'shuffle' } },
        train: tinyBatches(),
        task,
        seed: 4,
        runDir,
        datasetSize: 48,
      });
      return readJsonLines<{ epoch: number; loss: number; epsilon: number }>(join(runDir, 'metrics.jsonl'));
    };
    const [a, b] = [await run(), await run()];
    expect(a.map((l) => l.epsilon)).toEqual([1, 2, 3].map((e) => dpSgdEpsilon(e * 6, { datasetSize: 48, batchSize: 8, noiseMultiplier: 1.1, delta: 1e-3 }).epsilon));
    expect(a[2]!.epsilon).toBeGreaterThan(a[0]!.epsilon);
    expect(b.map((l) => l.loss)).toEqual(a.map((l) => l.loss));
  });

  it('stops before a step would exceed maxEpsilon, and says so', async () => {
    const limit = dpSgdEpsilon(9, { datasetSize: 48, batchSize: 8, noiseMultiplier: 1.1, delta: 1e-3 }).epsilon;
    const r = await fit(tinyModel(), {
      config: { ...base, privacy: { type: 'dp-sgd', l2NormClip: 1, noiseMultiplier: 1.1, delta: 1e-3, sampling: 'shuffle', maxEpsilon: limit } },
      train: tinyBatches(),
      task,
      seed: 4,
      datasetSize: 48,
    });
    expect(r.steps).toBe(9);
    expect(r.stopMessage).toMatch(/privacy budget: one more step would take epsilon to .* above train\.privacy\.maxEpsilon/);
  });

  it('targetEpsilon solves for the noise; a config with both or neither is an error at train.privacy', async () => {
    await expect(
      fit(tinyModel(), { config: { ...base, privacy: { type: 'dp-sgd', l2NormClip: 1 } }, train: tinyBatches(), task, datasetSize: 48 }),
    ).rejects.toThrow(/train\.privacy\.noiseMultiplier: give exactly one of noiseMultiplier or targetEpsilon/);
    const r = await fit(tinyModel(), {
      config: { ...base, privacy: { type: 'dp-sgd', l2NormClip: 1, targetEpsilon: 8, delta: 1e-3, sampling: 'shuffle' } },
      train: tinyBatches(),
      task,
      datasetSize: 48,
    });
    expect(r.history.at(-1)!.epsilon).toBeLessThanOrEqual(8);
    expect(r.history.at(-1)!.epsilon).toBeGreaterThan(7.5);
  });

  it('leaks no tensors', async () => {
    const model = tinyModel();
    await expectNoLeakedTensors(() =>
      fit(model, { config: { ...base, epochs: 1, privacy: { type: 'dp-sgd', l2NormClip: 1, noiseMultiplier: 1 } }, train: tinyBatches(), task, datasetSize: 48 }),
    );
  });
});

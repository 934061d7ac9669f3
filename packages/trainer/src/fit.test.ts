import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, isTfpipeError, readJsonLines } from '@tfpipe/core';
import { expectNoLeakedTensors, tinyModel } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Callback, type EpochLog, type ProgressEvent, fit } from './index.js';
import { tinyBatches } from './__fixtures__/data.js';

const task = { kind: 'multiclass' as const, classes: 3 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function valLoss(model: tfl.LayersModel, shiftLabels = 0): Promise<number> {
  const r = await fit(model, {
    config: { epochs: 1, optimizer: { type: 'sgd', learningRate: 1e-30 } },
    train: () => tinyBatches({ n: 8 })(),
    validation: () => tinyBatches({ dataSeed: 11, shiftLabels })(),
    task,
  });
  return r.history[0]!.val_loss!;
}

describe('fit', () => {
  it('trains a tiny model, writes metrics.jsonl, TensorBoard events, checkpoints; emits progress', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-fit-'));
    const events: ProgressEvent[] = [];
    const model = tinyModel();
    const r = await fit(model, {
      config: { epochs: 6, optimizer: { type: 'adam', learningRate: 0.05 }, metrics: ['accuracy'], schedule: { type: 'cosine', warmupEpochs: 1 } },
      train: tinyBatches(),
      validation: () => tinyBatches({ dataSeed: 11 })(),
      task,
      runDir,
      seed: 1,
      onProgress: (e) => events.push(e),
    });
    expect(r.history).toHaveLength(6);
    expect(r.stopReason).toBe('completed');
    expect(r.history[5]!.loss).toBeLessThan(r.history[0]!.loss);
    expect(r.history[5]!.val_accuracy).toBeGreaterThan(0.9);
    expect(r.steps).toBe(36);
    expect(Object.keys(r.history[0]!).sort()).toEqual(['accuracy', 'epoch', 'loss', 'lr', 'samplesPerSec', 'seconds', 'val_accuracy', 'val_loss']);
    expect(await readJsonLines<EpochLog>(join(runDir, 'metrics.jsonl'))).toEqual(r.history);
    const files = await readdir(runDir);
    expect(files.some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    expect((await readdir(join(runDir, 'checkpoints'))).sort()).toEqual(['best', 'last']);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(36);
    // The epoch length is learnt in epoch 1, so from epoch 2 on steps carry it and an ETA.
    expect(steps[6]).toMatchObject({ epoch: 2, step: 1, globalStep: 7, stepsPerEpoch: 6 });
    expect(steps[6]!.type === 'step' && steps[6]!.eta).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(6);
    // Cosine: the last epoch's lr is below the first full epoch's.
    expect(r.history[5]!.lr).toBeLessThan(r.history[1]!.lr);
  });

  it('early stopping stops, and restores the best epoch weights', async () => {
    const model = tinyModel();
    // Validation labels are shifted by one class: the better the model learns, the worse val_loss gets.
    // With minDelta 10 no later epoch counts as an improvement: it stops after 1 + patience epochs.
    const r = await fit(model, {
      config: { epochs: 12, optimizer: { type: 'adam', learningRate: 0.05 }, earlyStopping: { patience: 3, minDelta: 10 } },
      train: tinyBatches(),
      validation: () => tinyBatches({ dataSeed: 11, shiftLabels: 1 })(),
      task,
    });
    expect(r.stopReason).toBe('early-stopping');
    expect(r.epochsRun).toBe(4);
    expect(r.restoredBest).toBe(true);
    // The best epoch is not the last one, so this is a real restore.
    expect(r.bestEpoch).toBeLessThan(4);
    expect(r.monitor).toBe('val_loss');
    const best = r.history.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    expect(r.bestEpoch).toBe(best.epoch);
    expect(r.bestValue).toBe(best.val_loss);
    expect(r.stopMessage).toMatch(/val_loss did not improve for 3 epoch/);
    // The model now computes the best epoch's validation loss again.
    expect(await valLoss(model, 1)).toBeCloseTo(best.val_loss!, 4);
  });

  it('restores the best weights on abort (Ctrl-C) too', async () => {
    const model = tinyModel();
    const controller = new AbortController();
    const seen: number[] = [];
    const r = await fit(model, {
      config: { epochs: 10, optimizer: { type: 'adam', learningRate: 0.05 }, earlyStopping: { patience: 100 } },
      train: tinyBatches(),
      validation: () => tinyBatches({ dataSeed: 11, shiftLabels: 1 })(),
      task,
      signal: controller.signal,
      callbacks: [
        {
          onEpochEnd: (c) => {
            seen.push(c.epoch);
            if (c.epoch === 4) controller.abort();
          },
        },
      ],
    });
    expect(r.stopReason).toBe('interrupted');
    expect(r.epochsRun).toBe(4);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(r.bestEpoch).toBeLessThan(4);
    expect(await valLoss(model, 1)).toBeCloseTo(r.bestValue!, 4);
  });

  it('stops on a NaN loss with E_TRAIN naming epoch and step, or returns stopReason nan', async () => {
    const poisoned = (ctx?: { seed: number }) =>
      (async function* () {
        let i = 0;
        for await (const b of tinyBatches()(ctx)) {
          if (++i === 3) {
            const bad = tf.fill(b.xs instanceof tf.Tensor ? b.xs.shape : [8, 4], Number.NaN);
            tf.dispose(b.xs as tf.Tensor);
            yield { ...b, xs: bad } as Batch;
          } else yield b;
        }
      })();
    const err = await fit(tinyModel(), { config: { epochs: 2 }, train: poisoned, task }).catch((e) => e);
    expect(isTfpipeError(err, 'E_TRAIN')).toBe(true);
    expect(err.message).toBe('the loss is NaN/Inf at epoch 1, step 3 (global step 3)');
    const r = await fit(tinyModel(), { config: { epochs: 2, onNaN: 'stop' }, train: poisoned, task });
    expect(r.stopReason).toBe('nan');
    expect(r.history).toHaveLength(0);
  });

  it('a monitor the run does not compute is E_CONFIG before any training', async () => {
    let pulled = 0;
    const err = await fit(tinyModel(), {
      config: { epochs: 1, metrics: ['accuracy'], earlyStopping: { monitor: 'val_acuracy' } },
      train: () => {
        pulled++;
        return tinyBatches()();
      },
      validation: () => tinyBatches()(),
      task,
    }).catch((e) => e);
    expect(isTfpipeError(err, 'E_CONFIG')).toBe(true);
    expect(err.issues[0]).toMatchObject({ path: ['train', 'earlyStopping', 'monitor'], received: 'val_acuracy', suggestion: 'val_accuracy' });
    expect(pulled).toBe(0);
    const mode = await fit(tinyModel(), { config: { metrics: ['accuracy'], earlyStopping: { monitor: 'accuracy', mode: 'min' } }, train: tinyBatches(), task }).catch((e) => e);
    expect(mode.issues[0]).toMatchObject({ path: ['train', 'earlyStopping', 'mode'], received: 'min', expected: '"auto" or "max"' });
  });

  it('leaves no tensors behind (trainer, optimizer, best weights, validation)', async () => {
    const model = tinyModel();
    await expectNoLeakedTensors(
      () =>
        fit(model, {
          config: { epochs: 2, optimizer: { type: 'adamw' }, metrics: ['accuracy'], earlyStopping: {}, labelSmoothing: 0.1, classWeight: { '0': 2 }, gradientClip: { norm: 1 }, validationEverySteps: 4 },
          train: tinyBatches({ sampleWeight: true }),
          validation: () => tinyBatches({ dataSeed: 3 })(),
          task,
        }),
      2,
    );
  });

  it('the leak check catches a callback that keeps tensors', async () => {
    const kept: tf.Tensor[] = [];
    const leaky: Callback = { onBatchEnd: () => void kept.push(tf.ones([2])) };
    const err = await fit(tinyModel(), { config: { epochs: 3 }, train: tinyBatches(), task, callbacks: [leaky] }).catch((e) => e);
    expect(isTfpipeError(err, 'E_TRAIN')).toBe(true);
    expect(err.message).toMatch(/^6 tensor\(s\) leaked during epoch 2/);
    const warnings: string[] = [];
    const r = await fit(tinyModel(), {
      config: { epochs: 2, leakCheck: 'warn' },
      train: tinyBatches(),
      task,
      callbacks: [leaky],
      logger: { info() {}, warn: (m) => warnings.push(m) },
    });
    expect(r.stopReason).toBe('completed');
    expect(warnings).toHaveLength(1);
    tf.dispose(kept);
  });

  it('callbacks get one context and can stop training; their state travels in checkpoints', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-cb-'));
    let batches = 0;
    const counter: Callback = {
      name: 'counter',
      onBatchEnd: (ctx) => {
        batches++;
        expect(ctx.logs.loss).toBeGreaterThan(0);
      },
      onEpochEnd: (ctx) => {
        if (ctx.epoch === 2) ctx.stopTraining('enough');
      },
      stateDict: () => ({ batches }),
      loadStateDict: (s) => {
        batches = (s as { batches: number }).batches;
      },
    };
    const r = await fit(tinyModel(), { config: { epochs: 5 }, train: tinyBatches(), task, runDir, callbacks: [counter] });
    expect(r).toMatchObject({ stopReason: 'early-stopping', stopMessage: 'enough', epochsRun: 2 });
    batches = -1;
    // The run ended; a resume restores state and has nothing left to do.
    const again = await fit(tinyModel(), { config: { epochs: 5 }, train: tinyBatches(), task, runDir, resume: true, callbacks: [counter] });
    expect(batches).toBe(12);
    expect(again).toMatchObject({ stopReason: 'early-stopping', epochsRun: 2 });
    await expect(fit(tinyModel(), { config: { epochs: 1 }, train: tinyBatches(), task, runDir })).rejects.toThrow(/already holds a training run/);
  });

  it('perturb: trains on the batch the hook returns (replace or append)', async () => {
    const sizes: number[] = [];
    const spy: Callback = { onBatchEnd: (c) => void sizes.push(c.logs.size!) };
    const perturb = (b: Batch): Batch => ({ xs: tf.add(b.xs as tf.Tensor, 0.01), ys: tf.clone(b.ys as tf.Tensor) });
    await fit(tinyModel(), { config: { epochs: 1 }, train: tinyBatches(), task, perturb, perturbMode: 'append', callbacks: [spy] });
    expect(sizes).toEqual([16, 16, 16, 16, 16, 16]);
    sizes.length = 0;
    await fit(tinyModel(), { config: { epochs: 1 }, train: tinyBatches(), task, perturb, callbacks: [spy], stepsPerEpoch: 2 });
    expect(sizes).toEqual([8, 8]);
  });

  it('multi-output models: per-output losses, weighted, from named targets', async () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const h = tfl.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
    const cls = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'cls', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tfl.SymbolicTensor;
    const reg = tfl.layers.dense({ units: 1, name: 'reg', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: [cls, reg] });
    const train = (ctx?: { seed: number }) =>
      (async function* () {
        for await (const b of tinyBatches()(ctx)) {
          const y = b.ys as tf.Tensor;
          yield { xs: { x: b.xs as tf.Tensor }, ys: { cls: y, reg: tf.tidy(() => tf.reshape(tf.cast(tf.argMax(y, -1), 'float32'), [-1, 1])) } };
        }
      })();
    const r = await fit(model, {
      config: { epochs: 15, optimizer: { type: 'adam', learningRate: 0.05 }, loss: { cls: 'categoricalCrossentropy', reg: 'meanSquaredError' }, lossWeights: { reg: 0.5 } },
      train,
    });
    expect(r.history[14]!.loss).toBeLessThan(r.history[0]!.loss / 2);
    const bad = await fit(model, { config: { loss: { cls: 'categoricalCrossentropy', regr: 'meanSquaredError' } }, train }).catch((e) => e);
    expect(bad.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(['train.loss.regr', 'train.loss']);
  });
});

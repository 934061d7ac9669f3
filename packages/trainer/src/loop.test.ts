import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { type RngState, createRng, isTfpipeError, readJsonLines } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyBatches } from './__fixtures__/data.js';
import { type Callback, type CallbackEntry, type EpochLog, type GradientTransform, createCallbackRegistry, fit, removeStaleTemps } from './index.js';
import { z } from 'zod';

const task = { kind: 'multiclass' as const, classes: 3 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Dropout drawing a new mask per training call from its own seeded stream, with the state hooks the loop checkpoints. */
class StreamDropout extends tfl.layers.Layer {
  static className = 'TestStreamDropout';
  private rng;
  constructor(private readonly rate: number, seed: number) {
    super({});
    this.rng = createRng(seed);
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs.training !== true) return x;
    const seed = this.rng.seed32();
    return tf.tidy(() => tf.dropout(x, this.rate, undefined, seed));
  }
  getRandomState(): RngState {
    return this.rng.getState();
  }
  setRandomState(state: unknown): void {
    this.rng.setState(state as RngState);
  }
}

/** A small MLP with a seeded dropout between its layers; `init` chooses the initial weights. */
function dropoutModel(init = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [4] });
  const h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: init }) }).apply(input) as tfl.SymbolicTensor;
  const d = new StreamDropout(0.5, 3).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: init + 1 }) }).apply(d) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const timeless = (h: EpochLog[]) => h.map(({ seconds: _s, samplesPerSec: _p, ...rest }) => rest);

describe('exact resume (dropout stream + Adam powers in the checkpoint)', () => {
  for (const where of ['at an epoch end', 'in the middle of an epoch'] as const) {
    it(`a run aborted ${where} and resumed ends bit-identical to an uninterrupted one`, async () => {
      const config = { epochs: 5, optimizer: { type: 'adam' as const, learningRate: 0.02 }, metrics: ['accuracy'], earlyStopping: { patience: 10 } };
      const common = { config, train: tinyBatches(), validation: () => tinyBatches({ dataSeed: 11 })(), task, seed: 9 };
      const whole = dropoutModel();
      const a = await fit(whole, common);

      const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-loop-resume-'));
      const first = dropoutModel();
      const controller = new AbortController();
      // Abort after epoch 3, or after the 3rd step of epoch 4 (6 steps an epoch): that epoch is trained again.
      // Resuming at step 18 matters: there beta2^18 as tfjs's setWeights recomputes it (pow) differs from
      // the product of 18 float32 multiplications training made.
      const stop: Callback =
        where === 'at an epoch end'
          ? { onEpochEnd: (c) => void (c.epoch === 3 && controller.abort()) }
          : { onBatchEnd: (c) => void (c.epoch === 4 && c.stepInEpoch === 3 && controller.abort()) };
      const cut = await fit(first, { ...common, runDir, signal: controller.signal, callbacks: [stop] });
      expect(cut.stopReason).toBe('interrupted');
      expect(cut.epochsRun).toBe(3);
      // A killed process may leave writeFileAtomic's temporary files: resume removes them.
      await writeFile(join(runDir, '.metrics.jsonl.123.abcd1234.tmp'), '{"epoch":');
      const second = dropoutModel(42); // other initial weights: the checkpoint replaces them
      const b = await fit(second, { ...common, runDir, resume: true });
      expect(timeless(b.history)).toEqual(timeless(a.history));
      expect(timeless(await readJsonLines<EpochLog>(join(runDir, 'metrics.jsonl')))).toEqual(timeless(a.history));
      expect(b.bestEpoch).toBe(a.bestEpoch);
      const [wa, wb] = [whole.getWeights(), second.getWeights()];
      for (const [i, t] of wa.entries()) expect(Array.from(wb[i]!.dataSync())).toEqual(Array.from(t.dataSync()));
      expect((await readdir(runDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      for (const m of [whole, first, second]) m.dispose();
    });
  }

  it('removeStaleTemps removes only writeFileAtomic temporaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-stale-'));
    await writeFile(join(dir, '.run.json.77.0badc0de.tmp'), 'x');
    await writeFile(join(dir, 'keep.tmp'), 'x');
    await writeFile(join(dir, 'run.json'), '{}');
    expect((await removeStaleTemps(dir)).map((p) => p.slice(dir.length + 1))).toEqual(['.run.json.77.0badc0de.tmp']);
    expect((await readdir(dir)).sort()).toEqual(['keep.tmp', 'run.json']);
  });
});

describe('the loop and its hooks', () => {
  it('onBatchBegin runs before each step and may set its learning rate; onBatchEnd sees the applied step', async () => {
    const seen: string[] = [];
    const zeroLr: Callback = {
      onBatchBegin: (c) => {
        seen.push(`begin ${c.epoch}.${c.stepInEpoch} step ${c.step}`);
        if (c.epoch === 2) c.learningRate = 1e-30; // epoch 2 barely moves
      },
      onBatchEnd: (c) => void seen.push(`end ${c.epoch}.${c.stepInEpoch} step ${c.step}`),
    };
    const model = dropoutModel();
    const snapshots: number[][] = [];
    const snap: Callback = { onEpochEnd: (c) => void snapshots.push(Array.from(c.model.getWeights()[0]!.dataSync())) };
    const r = await fit(model, { config: { epochs: 2, optimizer: { type: 'sgd', learningRate: 0.5 } }, train: tinyBatches(), task, callbacks: [zeroLr, snap], stepsPerEpoch: 2 });
    expect(seen).toEqual(['begin 1.1 step 0', 'end 1.1 step 1', 'begin 1.2 step 1', 'end 1.2 step 2', 'begin 2.1 step 2', 'end 2.1 step 3', 'begin 2.2 step 3', 'end 2.2 step 4']);
    expect(r.history.map((h) => h.lr)).toEqual([0.5, 1e-30]);
    const moved = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(moved(snapshots[0]!, snapshots[1]!)).toBeLessThan(1e-20);
    model.dispose();
  });

  it('a gradient transform decides the gradients: the default one changes nothing, per-example ones average to the batch', async () => {
    const cfg = { epochs: 2, optimizer: { type: 'sgd' as const, learningRate: 0.1 } };
    const plain = await fit(dropoutModel(), { config: cfg, train: tinyBatches(), task, seed: 4 });
    let calls = 0;
    const passThrough: GradientTransform = (s) => {
      calls++;
      return s.defaultGradients();
    };
    const same = await fit(dropoutModel(), { config: cfg, train: tinyBatches(), task, seed: 4, gradients: passThrough });
    expect(calls).toBe(12);
    expect(timeless(same.history)).toEqual(timeless(plain.history));

    // Per-example gradients through `loss`, averaged: the whole-batch mean gradient up to float rounding
    // (the dropout layer draws one mask per call, so this uses a model without it).
    const mlp = (seed: number) =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 8, activation: 'tanh', inputShape: [4], kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
          tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
        ],
      });
    const perExample: GradientTransform = (s) => {
      const n = (s.batch.ys as tf.Tensor).shape[0]!;
      const sums: tf.NamedTensorMap = {};
      const losses: tf.Scalar[] = [];
      for (let i = 0; i < n; i++) {
        const one = { xs: tf.slice(s.batch.xs as tf.Tensor, i, 1), ys: tf.slice(s.batch.ys as tf.Tensor, i, 1) };
        const { value, grads } = tf.variableGrads(() => s.loss(one), s.vars as tf.Variable[]);
        for (const [k, g] of Object.entries(grads)) {
          const prev = sums[k];
          sums[k] = prev ? tf.add(prev, g) : tf.clone(g);
          prev?.dispose();
        }
        tf.dispose(grads);
        losses.push(value);
        tf.dispose([one.xs, one.ys]);
      }
      const grads = Object.fromEntries(Object.entries(sums).map(([k, g]) => [k, tf.div(g, n)]));
      tf.dispose(Object.values(sums));
      const loss = tf.tidy(() => tf.div(tf.addN(losses), n)) as tf.Scalar;
      tf.dispose(losses);
      return { loss, grads };
    };
    const a = await fit(mlp(5), { config: cfg, train: tinyBatches(), task, seed: 4 });
    const b = await fit(mlp(5), { config: cfg, train: tinyBatches(), task, seed: 4, gradients: perExample });
    for (const [i, h] of a.history.entries()) expect(b.history[i]!.loss).toBeCloseTo(h.loss, 5);
    const both = await fit(mlp(5), { config: { ...cfg, parallel: 1 }, train: tinyBatches(), task, gradients: passThrough }).catch((e) => e);
    expect(isTfpipeError(both, 'E_CONFIG')).toBe(true);
    expect(both.issues[0]).toMatchObject({ path: ['train', 'parallel'], received: 1 });
    const model = mlp(5);
    await expectNoLeakedTensors(() => fit(model, { config: { ...cfg, epochs: 1 }, train: tinyBatches(), task, gradients: perExample }), 2);
  });

  it('train.callbacks: built-in types by name, your own from a registry, every problem with its path', async () => {
    // A second early stopping rule on the training loss, by name from the config.
    const stopped = await fit(dropoutModel(), {
      config: { epochs: 20, optimizer: { type: 'adam', learningRate: 0.05 }, callbacks: [{ type: 'earlyStopping', monitor: 'loss', patience: 0, minDelta: 10 }] },
      train: tinyBatches(),
      task,
    });
    expect(stopped).toMatchObject({ stopReason: 'early-stopping', epochsRun: 2 });
    expect(stopped.stopMessage).toMatch(/^loss did not improve for 1 epoch/);

    // A user's type: its schema validates the YAML item, its state travels in checkpoints under its name.
    const counted: number[] = [];
    const countEpochs: CallbackEntry<{ type: 'count'; every: number }> = {
      type: 'count',
      schema: z.object({ type: z.literal('count'), every: z.number().int().min(1) }).strict(),
      create: (c) => {
        let n = 0;
        return { name: 'count', onEpochEnd: (ctx) => void (ctx.epoch % c.every === 0 && counted.push(++n)), stateDict: () => ({ n }) };
      },
    };
    const registry = createCallbackRegistry().register(countEpochs as CallbackEntry);
    await fit(dropoutModel(), { config: { epochs: 4, callbacks: [{ type: 'count', every: 2 }] }, train: tinyBatches(), task, callbackRegistry: registry });
    expect(counted).toEqual([1, 2]);

    const err = await fit(dropoutModel(), {
      config: { epochs: 2, callbacks: [{ type: 'count', every: 0 }, { type: 'earlyStoping', monitor: 'loss' }, { type: 'earlyStopping', monitor: 'val_loss' }] },
      train: tinyBatches(),
      task,
      callbackRegistry: registry,
    }).catch((e) => e);
    expect(isTfpipeError(err, 'E_CONFIG')).toBe(true);
    expect(err.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(['train.callbacks.0.every', 'train.callbacks.1.type', 'train.callbacks.2.monitor']);
    expect(err.issues[1]).toMatchObject({ received: 'earlyStoping', suggestion: 'earlyStopping' });
    expect(err.issues[2].message).toMatch(/no validation set/);
  });
});

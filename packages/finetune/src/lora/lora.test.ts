import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystemIO, isTfpipeError } from '@tfpipe/core';
import { expectNoLeakedTensors, expectTensorsClose, tinyDataset, tinyModel } from '@tfpipe/test-utils';
import { fit } from '@tfpipe/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchesOf, matmul } from '../__fixtures__/batches.js';
import { countParams } from '../freeze.js';
import { loadAdapters, saveAdapters } from './adapters.js';
import { applyLora, mergeLora } from './apply.js';
import { LoraDense, registerFinetuneLayers } from './layers.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-lora-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const data = tinyDataset(96, 4, 3, 11);
const batches = batchesOf(data.x, data.y, [4], 3, 16);
const x = () => tf.tensor2d(data.x.subarray(0, 40), [10, 4]);

/** Puts random values in every B (it starts at zero) so the adapters change the output. */
function randomizeB(model: tfl.LayersModel, seed: number): void {
  for (const w of model.weights) if (w.originalName.endsWith('lora_b')) w.write(tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed++));
}

describe('LoRA on Dense layers', () => {
  it('starts as the base model (B = 0) and computes xW + b + (alpha/r) x A B', async () => {
    const base = tinyModel(4, 3, 5);
    const { model, plan } = await applyLora(base, { rank: 2, alpha: 6, target: 'dense*' }, { seed: 1 });
    expect(plan.map((p) => p.layer)).toEqual(base.layers.map((l) => l.name));
    const xs = x();
    expectTensorsClose(model.predict(xs) as tf.Tensor, base.predict(xs) as tf.Tensor, 1e-6, 1e-6);
    randomizeB(model, 3);
    // Hand computation of the first layer: relu(x W + b + 3 · x A B).
    const layer = model.layers.find((l) => l instanceof LoraDense) as LoraDense;
    const w = Object.fromEntries(layer.weights.map((v) => [v.originalName.split('/').pop()!, v.read().dataSync()]));
    const xv = xs.dataSync();
    const xw = matmul(xv, w.kernel!, 10, 4, 8);
    const xab = matmul(matmul(xv, w.lora_a!, 10, 4, 2), w.lora_b!, 10, 2, 8);
    const expected = Array.from(xw, (v, i) => Math.max(0, v + w.bias![i % 8]! + 3 * xab[i]!));
    const sub = tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor });
    expectTensorsClose(sub.predict(xs) as tf.Tensor, expected, 1e-5, 1e-5);
    tf.dispose(xs);
  });

  it('trains only the adapters; counts trainable vs total parameters', async () => {
    const base = tinyModel(4, 3, 5);
    const { model } = await applyLora(base, { rank: 2, alpha: 4, target: ['dense*'] }, { seed: 2 });
    // dense 4→8: A 4x2 + B 2x8 = 24; dense 8→3: A 8x2 + B 2x3 = 22. Base: 4*8+8 + 8*3+3 = 67.
    expect(countParams(model)).toEqual({ trainable: 46, total: 113 });
    const before = model.weights.map((w) => [w.originalName, w.read().dataSync().slice()] as const);
    await fit(model, { config: { epochs: 2, optimizer: { type: 'adam', learningRate: 0.05 }, tensorboard: false }, train: batches, task: { kind: 'multiclass', classes: 3 } });
    for (const [name, values] of before) {
      const now = model.weights.find((w) => w.originalName === name)!.read().dataSync();
      const changed = values.some((v, i) => v !== now[i]);
      expect([name, changed]).toEqual([name, /lora_[ab]$/.test(name)]);
    }
  });

  it('merges into plain Dense layers with the same predictions', async () => {
    const { model } = await applyLora(tinyModel(4, 3, 5), { rank: 3, alpha: 5, target: '*' }, { seed: 3 });
    randomizeB(model, 9);
    const merged = await mergeLora(model);
    expect(merged.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense']);
    const xs = x();
    const a = model.predict(xs) as tf.Tensor;
    const b = merged.predict(xs) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, tf.mean(a)))).dataSync()[0]).toBeGreaterThan(0.01); // not a constant output
    expectTensorsClose(b, a, 1e-5, 1e-5);
    tf.dispose([xs, a, b]);
  });

  it('saves the adapters alone and loads them onto a fresh base', async () => {
    const base = tinyModel(4, 3, 5);
    await base.save(fileSystemIO(join(dir, 'base')));
    const { model } = await applyLora(base, { rank: 2, alpha: 2, target: 'dense*' }, { seed: 4 });
    randomizeB(model, 21);
    const out = join(dir, 'adapters');
    const saved = await saveAdapters(model, out);
    expect(saved.params).toBe(46);
    expect(saved.bytes).toBe(46 * 4);
    expect((await stat(join(out, 'adapters.bin'))).size).toBe(46 * 4);
    const fresh = await tfl.loadLayersModel(fileSystemIO(join(dir, 'base')));
    const loaded = await loadAdapters(fresh, out);
    expect(countParams(loaded).trainable).toBe(46);
    const xs = x();
    expectTensorsClose(loaded.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor, 1e-6, 1e-6);
    tf.dispose(xs);
  });

  it('is a serializable layer: save and load the LoRA model', async () => {
    const { model } = await applyLora(tinyModel(4, 3, 5), { rank: 2, alpha: 2, target: 'dense*', dropout: 0.2 }, { seed: 5 });
    randomizeB(model, 30);
    await model.save(fileSystemIO(join(dir, 'lora-model')));
    registerFinetuneLayers();
    const back = await tfl.loadLayersModel(fileSystemIO(join(dir, 'lora-model')));
    expect(back.layers[0]).toBeInstanceOf(LoraDense);
    expect((back.layers[0] as LoraDense).dropout).toBe(0.2);
    const xs = x();
    expectTensorsClose(back.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor, 1e-6, 1e-6);
    tf.dispose(xs);
  });

  it('a target that matches nothing is E_CONFIG naming the path, the pattern and the layers', async () => {
    const base = tinyModel(4, 3, 5);
    const err = await applyLora(base, { target: ['dense*', 'conv*'] }, { seed: 1 }).catch((e) => e);
    expect(isTfpipeError(err, 'E_CONFIG')).toBe(true);
    expect(err.path).toEqual(['finetune', 'lora', 'target', 1]);
    expect(err.message).toContain('"conv*"');
    for (const l of base.layers) expect(err.message).toContain(l.name);
  });

  it('leaks no tensors when applied, trained a step, merged and disposed', async () => {
    const base = tinyModel(4, 3, 5);
    const xs = x();
    await expectNoLeakedTensors(async () => {
      const { model } = await applyLora(base, { rank: 2, alpha: 2, target: '*' }, { seed: 1 });
      const merged = await mergeLora(model);
      tf.dispose([model.predict(xs) as tf.Tensor, merged.predict(xs) as tf.Tensor]);
      model.dispose();
      merged.dispose();
    });
    tf.dispose(xs);
  });
});

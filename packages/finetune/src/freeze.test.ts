import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isTfpipeError } from '@tfpipe/core';
import { expectNoLeakedTensors, expectTensorsClose, tinyDataset } from '@tfpipe/test-utils';
import { fit } from '@tfpipe/trainer';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchesOf } from './__fixtures__/batches.js';
import { countParams, freezeLayers, frozenBatchNormInference, selectLayers, unfreezeLayers } from './freeze.js';
import { UpdateScaler, layerLearningRateCallback, resolveLayerMultipliers } from './layer-lr.js';
import { compilePattern } from './patterns.js';

beforeAll(() => tf.setBackend('cpu'));

function net(seed = 1): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed + s });
  const x = tfl.input({ shape: [4], name: 'x' });
  let h = tfl.layers.dense({ units: 6, name: 'conv_a', kernelInitializer: init(0) }).apply(x) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ name: 'bn_0' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'relu', name: 'act_0' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dense({ units: 5, activation: 'relu', name: 'conv_b', kernelInitializer: init(1) }).apply(h) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'output', kernelInitializer: init(2) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y });
}
const data = tinyDataset(64, 4, 3, 5);
const train = batchesOf(data.x, data.y, [4], 3, 16);
const task = { kind: 'multiclass' as const, classes: 3 };
const config = (lr: number, type: 'sgd' | 'adam' = 'sgd') => ({ epochs: 1, optimizer: { type, learningRate: lr }, tensorboard: false });

describe('patterns', () => {
  it('globs match whole names; /regex/ is a regex', () => {
    const names = ['conv2d_0', 'conv2d_1', 'dense_0', 'output', 'conv2d_10'];
    const m = (p: string) => names.filter(compilePattern(p).test);
    expect(m('conv*')).toEqual(['conv2d_0', 'conv2d_1', 'conv2d_10']);
    expect(m('conv2d_?')).toEqual(['conv2d_0', 'conv2d_1']);
    expect(m('*_[01]')).toEqual(['conv2d_0', 'conv2d_1', 'dense_0']);
    expect(m('out')).toEqual([]);
    expect(m('/^conv2d_\\d$/')).toEqual(['conv2d_0', 'conv2d_1']);
    expect(m('/OUT/i')).toEqual(['output']);
    expect(() => compilePattern('/(/', ['finetune', 'freeze'])).toThrow(/finetune\.freeze: not a valid pattern/);
  });
});

describe('freezing', () => {
  it('by pattern with exclude, and by depth over layers with weights', () => {
    const m = net();
    expect(selectLayers(m, 'conv*')).toEqual(['conv_a', 'conv_b']);
    expect(selectLayers(m, ['conv*', 'bn_*'], { exclude: ['conv_b'] })).toEqual(['conv_a', 'bn_0']);
    expect(selectLayers(m, 'all-but-last-2')).toEqual(['conv_a', 'bn_0']);
    expect(selectLayers(m, 'all')).toEqual(['conv_a', 'bn_0', 'conv_b', 'output']);
    const total = countParams(m).total;
    expect(freezeLayers(m, 'all-but-last-1')).toEqual(['conv_a', 'bn_0', 'conv_b']);
    expect(countParams(m)).toEqual({ trainable: 5 * 3 + 3, total });
    expect(unfreezeLayers(m, 'conv_b')).toEqual(['conv_b']);
    expect(countParams(m).trainable).toBe(18 + 6 * 5 + 5);
  });

  it('a pattern that matches nothing is E_CONFIG with the path, the pattern and the layer names', () => {
    const m = net();
    const err = (() => {
      try {
        freezeLayers(m, ['conv*', 'dense*']);
      } catch (e) {
        return e;
      }
    })() as Error & { path: unknown };
    expect(isTfpipeError(err, 'E_CONFIG')).toBe(true);
    expect(err.path).toEqual(['finetune', 'freeze', 1]);
    expect(err.message).toContain('finetune.freeze[1]: the pattern "dense*" matches no layer; the layers are: conv_a, bn_0, conv_b, output');
    expect(() => freezeLayers(m, 'conv*', { exclude: ['nope'] })).toThrow(/finetune\.exclude\[0\]: the pattern "nope"/);
    expect(() => freezeLayers(m, 'all-but-last-9')).toThrow(/all-but-last-N with N <= 4/);
  });

  it('a frozen batch norm runs in inference mode: moving statistics stay, training output = inference output', async () => {
    const m = net();
    const bn = m.getLayer('bn_0');
    // Make the moving statistics differ from the batch ones first (a training pass updates them).
    await fit(m, { config: config(0.1), train, task });
    freezeLayers(m, 'all');
    unfreezeLayers(m, 'output');
    frozenBatchNormInference(m);
    const stats = bn.getWeights().map((w) => w.dataSync().slice());
    const x = tf.tensor2d(data.x.subarray(0, 32), [8, 4]);
    const a = m.apply(x, { training: true }) as tf.Tensor;
    const b = m.predict(x) as tf.Tensor;
    expectTensorsClose(a, b, 1e-6, 1e-6);
    await fit(m, { config: config(0.1), train, task });
    bn.getWeights().forEach((w, i) => {
      expectTensorsClose(w, stats[i]!, 0, 0);
    });
    // Unfrozen again, it trains with batch statistics and updates the moving ones (tfjs' own behaviour).
    unfreezeLayers(m, 'bn_0');
    const c = m.apply(x, { training: true }) as tf.Tensor;
    const d = m.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(c, d))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, a, b, c, d]);
  });
});

describe('layer learning rates', () => {
  for (const type of ['sgd', 'adam'] as const) {
    it(`a multiplier scales the step of its layers exactly (${type}, one step)`, async () => {
      const run = async (mult: number) => {
        const m = net(3);
        const w0 = m.getWeights().map((w) => w.dataSync().slice());
        const scaler = UpdateScaler.forModel(m, resolveLayerMultipliers(m, [{ pattern: 'conv_a', multiplier: mult }]));
        const oneBatch = async function* () {
          for await (const b of train()) {
            yield b;
            return;
          }
        };
        await fit(m, {
          config: config(0.05, type),
          train: oneBatch,
          task,
          // Through the loop's onBatchBegin / onBatchEnd, as runStages does.
          callbacks: [layerLearningRateCallback(scaler)],
        });
        const names = m.weights.map((w) => w.originalName);
        return Object.fromEntries(m.getWeights().map((w, i) => [names[i]!, Array.from(w.dataSync(), (v, j) => v - w0[i]![j]!)]));
      };
      const full = await run(1);
      const scaled = await run(0.25);
      expectTensorsClose(scaled['conv_a/kernel']!, full['conv_a/kernel']!.map((v) => 0.25 * v), 1e-6, 1e-4);
      expectTensorsClose(scaled['conv_b/kernel']!, full['conv_b/kernel']!, 1e-7, 1e-5);
      expect(Math.max(...full['conv_a/kernel']!.map(Math.abs))).toBeGreaterThan(1e-3);
    });
  }

  it('leaks no tensors across steps', async () => {
    const m = net(2);
    const scaler = UpdateScaler.forModel(m, resolveLayerMultipliers(m, [{ pattern: 'conv*', multiplier: 0.1 }]));
    await expectNoLeakedTensors(() => {
      scaler.beforeStep();
      scaler.flush();
    });
  });
});

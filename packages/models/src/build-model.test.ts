import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { installChainedOps } from '@tfpipe/backend-wasm';
import { type InputSpec, type TaskSpec, TfpipeError } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildModel,
  createModelRegistry,
  defaultLoss,
  modelLosses,
  modelSchema,
  validateModelConfig,
} from './index.js';

beforeAll(async () => {
  installChainedOps();
  await tf.setBackend('cpu');
});

const tabular: InputSpec = { name: 'features', shape: [4], kind: 'tabular' };
const image: InputSpec = { name: 'image', shape: [8, 8, 1], kind: 'image' };
const text: InputSpec = { name: 'text', shape: [6], kind: 'text', vocabSize: 20 };
const three: TaskSpec = { kind: 'multiclass', classes: 3 };

function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function thrown(fn: () => unknown): TfpipeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TfpipeError) return e;
    throw e;
  }
  throw new Error('expected a TfpipeError');
}

describe('seeds', () => {
  const config = {
    type: 'fusion',
    inputs: {
      image: { type: 'cnn', blocks: [{ filters: 2 }] },
      text: { type: 'rnn', units: [3], bidirectional: true, embedding: { dim: 2 } },
    },
    head: { units: [4] },
  };
  it('the same seed builds the same weights; another seed other weights', () => {
    const a = buildModel(config, { inputs: [image, text], task: three, seed: 5 });
    const b = buildModel(config, { inputs: [image, text], task: three, seed: 5 });
    const c = buildModel(config, { inputs: [image, text], task: three, seed: 6 });
    const [wa, wb, wc] = [weightsOf(a), weightsOf(b), weightsOf(c)];
    expect(wa.length).toBe(wb.length);
    for (const [i, w] of wa.entries()) expect(Array.from(wb[i]!)).toEqual(Array.from(w));
    const kernels = wa.map((w, i) => [w, wc[i]!] as const).filter(([w]) => w.some((v) => v !== 0 && v !== 1));
    expect(kernels.length).toBeGreaterThan(0);
    for (const [w, other] of kernels) expect(Array.from(other)).not.toEqual(Array.from(w));
    for (const m of [a, b, c]) m.dispose();
  });

  it('a bidirectional layer starts with different forward and backward weights', () => {
    const m = buildModel(
      { type: 'rnn', cell: 'gru', units: [3], bidirectional: true, embedding: { dim: 2 } },
      { inputs: [text], task: three, seed: 1 },
    );
    const bidi = m.layers.find((l) => l.getClassName() === 'Bidirectional')!;
    const w = bidi.getWeights().map((t) => Array.from(t.dataSync()));
    const half = w.length / 2;
    expect(w[0]).not.toEqual(w[half]); // kernels
    expect(w[1]).not.toEqual(w[half + 1]); // recurrent kernels
    m.dispose();
  });

  it('dropout draws a new mask every training step, the same sequence for the same seed', async () => {
    const masks = async (seed: number) => {
      const m = buildModel(
        { type: 'mlp', units: [], inputDropout: 0.5 },
        { inputs: [tabular], task: { kind: 'regression', outputs: 4 }, seed },
      );
      // The model's dropout layer, called as in training on ones: each output is 0 (dropped) or 1 / (1 - 0.5).
      const layer = m.layers.find((l) => l.getClassName() === 'TfpipeSeededDropout')!;
      const out: number[][] = [];
      const x = tf.ones([1, 4]);
      for (let i = 0; i < 3; i++) {
        const y = layer.apply(x, { training: true }) as tf.Tensor;
        out.push(Array.from(y.dataSync()));
        y.dispose();
      }
      x.dispose();
      m.dispose();
      return out;
    };
    const a = await masks(3);
    const b = await masks(3);
    expect(b).toEqual(a);
    expect(new Set(a.map((r) => r.join(','))).size).toBeGreaterThan(1);
    for (const row of a) for (const v of row) expect([0, 2]).toContain(v);
  });
});

describe('errors before any training', () => {
  it('a 2-D cnn on a tabular input is E_MODEL with the path', () => {
    const e = thrown(() => buildModel({ type: 'cnn', dims: 2 }, { inputs: [tabular], task: three, seed: 1 }));
    expect(e.code).toBe('E_MODEL');
    expect(e.path).toEqual(['model']);
    expect(e.message).toMatch(/tabular input "features" of shape \[4\]/);
  });

  it('an encoder mismatch inside fusion names the fusion input path', () => {
    const e = thrown(() =>
      buildModel(
        { type: 'fusion', inputs: { image: { type: 'mlp' }, features: { type: 'transformer' } } },
        { inputs: [image, tabular], task: three, seed: 1 },
      ),
    );
    expect(e.code).toBe('E_MODEL');
    expect(e.path).toEqual(['model', 'inputs', 'features']);
  });

  it('fusion input names must match the data, with did-you-mean', () => {
    const e = thrown(() =>
      buildModel(
        { type: 'fusion', inputs: { imag: { type: 'cnn' }, features: { type: 'mlp' } } },
        { inputs: [image, tabular], task: three, seed: 1 },
      ),
    );
    expect(e.code).toBe('E_CONFIG');
    expect(e.issues[0]).toMatchObject({ path: ['model', 'inputs', 'imag'], suggestion: 'image' });
  });

  it('an unknown model type lists the known ones', () => {
    const e = thrown(() => buildModel({ type: 'lstm' }, { inputs: [text], task: three, seed: 1 }));
    expect(e.code).toBe('E_UNKNOWN_TYPE');
    expect(e.message).toMatch(/known: logistic, mlp, cnn, rnn, transformer, layers, fusion/);
  });

  it('an unknown option is E_CONFIG with did-you-mean', () => {
    const e = thrown(() =>
      buildModel({ type: 'mlp', unts: [4] }, { inputs: [tabular], task: three, seed: 1 }),
    );
    expect(e.code).toBe('E_CONFIG');
    expect(e.issues[0]).toMatchObject({ path: ['model', 'unts'], suggestion: 'units' });
  });

  it('layers: unknown layer type and unknown layer option get did-you-mean', () => {
    const bad = {
      type: 'layers',
      layers: [
        { type: 'conv2D', filters: 2, kernelSize: 3 },
        { type: 'dense', unit: 3 },
      ],
    };
    const r = validateModelConfig(bad, { registry: createModelRegistry() });
    expect(r.issues.map((i) => i.path)).toEqual([
      ['model', 'layers', 0, 'type'],
      ['model', 'layers', 1, 'unit'],
      ['model', 'layers', 1, 'units'],
    ]);
    expect(r.issues[0]!.message).toMatch(/did you mean "conv2d"/);
    expect(r.issues[1]!.message).toMatch(/did you mean "units"/);
  });

  it('layers: the last layer must fit the task unless appendOutput', () => {
    const e = thrown(() =>
      buildModel(
        { type: 'layers', layers: [{ type: 'dense', units: 10, activation: 'softmax' }] },
        { inputs: [tabular], task: three, seed: 1 },
      ),
    );
    expect(e.code).toBe('E_MODEL');
    expect(e.path).toEqual(['model', 'layers', 0]);
    const m = buildModel(
      { type: 'layers', layers: [{ type: 'dense', units: 10 }], appendOutput: true },
      { inputs: [tabular], task: three, seed: 1 },
    );
    expect(m.outputs[0]!.shape).toEqual([null, 3]);
    m.dispose();
  });

  it('layers: a layer that does not fit its input is E_MODEL at that layer', () => {
    const e = thrown(() =>
      buildModel(
        {
          type: 'layers',
          layers: [
            { type: 'conv2d', filters: 2, kernelSize: 3 },
            { type: 'dense', units: 3 },
          ],
        },
        { inputs: [tabular], task: three, seed: 1 },
      ),
    );
    expect(e.code).toBe('E_MODEL');
    expect(e.path).toEqual(['model', 'layers', 0]);
  });

  it('a cnn too deep for its image names the block', () => {
    const blocks = [{ filters: 2 }, { filters: 2 }, { filters: 2 }, { filters: 2 }];
    const e = thrown(() => buildModel({ type: 'cnn', blocks }, { inputs: [image], task: three, seed: 1 }));
    expect(e.path).toEqual(['model', 'blocks', 3, 'poolSize']);
  });

  it('several inputs need fusion; transformer heads must divide the width; logistic is for classification', () => {
    expect(
      thrown(() => buildModel({ type: 'mlp' }, { inputs: [tabular, image], task: three, seed: 1 })).hint,
    ).toMatch(/fusion/);
    expect(
      thrown(() =>
        buildModel(
          { type: 'transformer', embedDim: 6, numHeads: 4 },
          { inputs: [text], task: three, seed: 1 },
        ),
      ).issues[0]!.path,
    ).toEqual(['model', 'numHeads']);
    expect(
      thrown(() =>
        buildModel(
          { type: 'logistic' },
          { inputs: [tabular], task: { kind: 'regression', outputs: 1 }, seed: 1 },
        ),
      ).code,
    ).toBe('E_CONFIG');
  });
});

describe('heads and losses', () => {
  it('derives the output from the task, overridable', () => {
    const cases: [TaskSpec, number, string][] = [
      [three, 3, 'softmax'],
      [{ kind: 'binary' }, 1, 'sigmoid'],
      [{ kind: 'multilabel', classes: 4 }, 4, 'sigmoid'],
      [{ kind: 'regression', outputs: 2 }, 2, 'linear'],
    ];
    for (const [task, units, activation] of cases) {
      const m = buildModel({ type: 'mlp', units: [2] }, { inputs: [tabular], task, seed: 1 });
      const config = m.getLayer('output').getConfig();
      expect([config.units, config.activation]).toEqual([units, activation]);
      m.dispose();
    }
    const m = buildModel(
      { type: 'mlp', units: [2], output: { activation: 'linear' } },
      { inputs: [tabular], task: three, seed: 1 },
    );
    expect(m.getLayer('output').getConfig().activation).toBe('linear');
    m.dispose();
  });

  it('defaultLoss and modelLosses (with loss weights for several outputs)', () => {
    expect(defaultLoss(three)).toBe('categoricalCrossentropy');
    expect(defaultLoss({ kind: 'binary' })).toBe('binaryCrossentropy');
    expect(defaultLoss({ kind: 'multilabel', classes: 2 })).toBe('binaryCrossentropy');
    expect(defaultLoss({ kind: 'regression', outputs: 1 })).toBe('meanSquaredError');
    const config = {
      type: 'fusion',
      inputs: { features: { type: 'mlp' } },
      outputs: { species: { task: three }, width: { lossWeight: 0.5 } },
    };
    expect(
      modelLosses(config, { task: three, tasks: { width: { kind: 'regression', outputs: 1 } } }),
    ).toEqual({
      loss: { species: 'categoricalCrossentropy', width: 'meanSquaredError' },
      lossWeights: { species: 1, width: 0.5 },
    });
    expect(thrown(() => modelLosses(config, { task: three })).path).toEqual([
      'model',
      'outputs',
      'width',
      'task',
    ]);
  });

  it('regularization: global applies to every kernel, a layer overrides it', () => {
    const m = buildModel(
      {
        type: 'mlp',
        units: [3, { units: 3, regularization: { l1: 0.5, l2: 0 } }],
        regularization: { l2: 0.1 },
      },
      { inputs: [tabular], task: three, seed: 1 },
    );
    const regs = m.layers
      .filter((l) => l.getClassName() === 'Dense')
      .map((l) => l.getConfig().kernelRegularizer as { config: { l1: number; l2: number } });
    expect(regs.map((r) => [r.config.l1, r.config.l2])).toEqual([
      [0, 0.1],
      [0.5, 0],
      [0, 0.1],
    ]);
    m.dispose();
  });
});

describe('custom builders from TypeScript', () => {
  const schema = z
    .object({ type: z.literal('my/encoder'), width: z.number().int().positive().default(3) })
    .strict();
  const registry = createModelRegistry().register({
    type: 'my/encoder',
    schema,
    encode: (config: z.infer<typeof schema>, input, ctx) =>
      tfl.layers
        .dense({ units: config.width, activation: 'tanh', name: ctx.layerName('my_dense') })
        .apply(tfl.layers.flatten().apply(input)) as tfl.SymbolicTensor,
  });

  it('are usable from YAML, alone and inside fusion', () => {
    const alone = buildModel(
      { type: 'my/encoder', width: 5 },
      { inputs: [image], task: three, seed: 1, registry },
    );
    expect(alone.getLayer('my_dense_0').getConfig().units).toBe(5);
    const fused = buildModel(
      { type: 'fusion', inputs: { image: { type: 'my/encoder' }, features: { type: 'mlp' } } },
      { inputs: [image, tabular], task: three, seed: 1, registry },
    );
    expect(fused.getLayer('image_my_dense_0').getConfig().units).toBe(3);
    alone.dispose();
    fused.dispose();
    expect(
      thrown(() =>
        buildModel({ type: 'my/encoder', widht: 2 }, { inputs: [image], task: three, seed: 1, registry }),
      ).issues[0]!.suggestion,
    ).toBe('width');
  });
});

describe('modelSchema', () => {
  it('fills defaults and rejects typos', () => {
    expect(modelSchema.parse({ type: 'rnn' })).toMatchObject({
      cell: 'lstm',
      units: [64],
      bidirectional: false,
      embedding: { dim: 32, maskZero: true },
    });
    expect(modelSchema.safeParse({ type: 'cnn', blocks: [{ filters: 2, kernel: 3 }] }).success).toBe(false);
  });
});

describe('memory', () => {
  it('building and disposing a model leaks no tensors', async () => {
    const config = {
      type: 'fusion',
      inputs: {
        text: { type: 'transformer', embedDim: 4, numHeads: 2, ffDim: 4, blocks: 1 },
        features: { type: 'mlp', units: [3] },
      },
      combiner: 'attention',
    };
    await expectNoLeakedTensors(
      () => buildModel(config, { inputs: [text, tabular], task: three, seed: 1 }).dispose(),
      2,
    );
  });
});

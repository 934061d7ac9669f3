import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { installChainedOps } from '@tfpipe/backend-wasm';
import type { InputSpec, TaskSpec } from '@tfpipe/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildModel, createModelRegistry, validateModelConfig } from './index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const iris: InputSpec = { name: 'features', shape: [4], kind: 'tabular' };
const mnist: InputSpec = { name: 'image', shape: [28, 28, 1], kind: 'image' };
const text: InputSpec = { name: 'text', shape: [40], kind: 'text', vocabSize: 500 };
/** The data each example is written for. */
const DATA: Record<string, { inputs: InputSpec[]; task: TaskSpec }> = {
  'logistic-iris.yaml': { inputs: [iris], task: { kind: 'multiclass', classes: 3 } },
  'mlp-iris.yaml': { inputs: [iris], task: { kind: 'multiclass', classes: 3 } },
  'cnn-mnist.yaml': { inputs: [mnist], task: { kind: 'multiclass', classes: 10 } },
  'layers-mnist.yaml': { inputs: [mnist], task: { kind: 'multiclass', classes: 10 } },
  'lstm-text.yaml': { inputs: [text], task: { kind: 'binary' } },
  'transformer-text.yaml': { inputs: [text], task: { kind: 'binary' } },
  'fusion-image-tabular.yaml': {
    inputs: [mnist, { ...iris, name: 'tabular' }],
    task: { kind: 'multiclass', classes: 3 },
  },
  'fusion-two-outputs.yaml': {
    inputs: [mnist, { ...iris, name: 'tabular' }],
    task: { kind: 'multiclass', classes: 3 },
  },
};

beforeAll(async () => {
  installChainedOps();
  await tf.setBackend('cpu');
});

describe('examples/*.yaml', () => {
  it('every example has its data listed here', async () => {
    expect((await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()).toEqual(Object.keys(DATA).sort());
  });
  for (const [file, data] of Object.entries(DATA)) {
    it(`${file} validates and builds for its data`, async () => {
      const { model } = parse(await readFile(join(dir, file), 'utf8')) as { model: unknown };
      expect(validateModelConfig(model, { registry: createModelRegistry() }).issues).toEqual([]);
      const built = buildModel(model, { ...data, seed: 1 });
      expect(built.inputNames).toEqual(data.inputs.map((i) => i.name));
      built.dispose();
    });
  }
});

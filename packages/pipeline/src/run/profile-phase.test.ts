import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { silentLogger } from '@tfpipe/core';
import { Preprocessor } from '@tfpipe/preprocess';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { prepareData } from './data-phase.js';
import { summarizePredictions, textColumnsOf } from './profile-phase.js';

const iris = resolve(import.meta.dirname, '../../../../examples/iris-mlp/iris.csv');
let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-profile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('profile phase', () => {
  it('treats tokenized and bag-of-words columns as text', () => {
    const pre = Preprocessor.fromConfig([
      { type: 'tokenize', column: 'review' },
      { type: 'bag-of-words', columns: ['title', 'summary'] },
      { type: 'one-hot', column: 'city' },
    ]);
    expect(textColumnsOf(pre).sort()).toEqual(['review', 'summary', 'title']);
  });

  it('summarizes the model\'s predictions on a split without leaking tensors', async () => {
    const config = join(dir, 'p.yaml');
    await writeFile(
      config,
      [
        'name: profile',
        'seed: 3',
        'backend: cpu',
        'data:',
        `  source: { type: csv, path: ${JSON.stringify(iris)} }`,
        '  features: [sepal_length, sepal_width, petal_length, petal_width]',
        '  label: species',
        '  split: { validation: 0.2 }',
        'model: { type: mlp, units: [4] }',
        '',
      ].join('\n'),
    );
    const { config: cfg, baseDir } = await loadPipelineConfig(config);
    const data = await prepareData(cfg, { baseDir, logger: silentLogger });
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })] });
    const summary = await summarizePredictions(data.validation!, { model, data, seed: 3, split: 'validation' });
    const n = (await data.validation!.toArray()).length;
    expect(n).toBeGreaterThan(15);
    expect(summary!.rows).toBe(n);
    expect(summary!.label!.count).toBe(n);
    expect(summary!.confidence!.count).toBe(n);
    // A softmax over 3 classes: the predicted class has at least a third of the probability.
    expect(Math.min(...summary!.confidence!.sample)).toBeGreaterThanOrEqual(1 / 3 - 1e-6);
    await expectNoLeakedTensors(() => summarizePredictions(data.validation!, { model, data, seed: 3, split: 'validation' }));
    model.dispose();
  });
});

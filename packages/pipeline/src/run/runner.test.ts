import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { loadRun } from './model-dir.js';
import { readRunInfo } from './run-dir.js';
import { runPipeline } from './runner.js';

const iris = resolve(import.meta.dirname, '../../../../examples/iris-mlp/iris.csv');
let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-runner-'));
  config = join(dir, 'p.yaml');
  await writeFile(
    config,
    [
      'name: leak',
      'seed: 3',
      'backend: cpu',
      'data:',
      `  source: { type: csv, path: ${JSON.stringify(iris)} }`,
      '  features: [sepal_length, sepal_width, petal_length, petal_width]',
      '  label: species',
      '  split: { validation: 0.2, test: 0.2 }',
      'preprocess:',
      '  - { type: standardize, columns: [sepal_length, sepal_width, petal_length, petal_width] }',
      'model: { type: mlp, units: [8] }',
      'train: { epochs: 3, batchSize: 32, metrics: [accuracy], earlyStopping: { patience: 1 } }',
      'evaluate: { metrics: [accuracy, f1] }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runPipeline', () => {
  it('leaves no tensors behind across whole runs', async () => {
    const loaded = await loadPipelineConfig(config);
    let i = 0;
    await expectNoLeakedTensors(async () => {
      await runPipeline(loaded, { out: join(dir, `run-${i++}`) });
    }, 2);
  }, 300_000);

  it('records the run and its headline metric; the loaded run predicts without leaking', async () => {
    const loaded = await loadPipelineConfig(config);
    const result = await runPipeline(loaded, { out: join(dir, 'run-info') });
    const info = await readRunInfo(result.runDir);
    expect(info.status).toBe('completed');
    expect(info.backend).toBe('cpu');
    expect(info.primaryMetric).toEqual({ name: 'accuracy', direction: 'max' });
    expect(info.metrics?.accuracy).toBe(result.evaluation?.metrics.accuracy);
    const run = await loadRun(result.runDir);
    const rows = [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2, species: null }];
    const first = await run.predict(rows);
    expect(first).toHaveLength(1);
    await expectNoLeakedTensors(() => run.predict(rows));
    run.model.dispose();
    const evaluation = JSON.parse(await readFile(join(result.runDir, 'evaluation.json'), 'utf8')) as { samples: number };
    expect(evaluation.samples).toBeGreaterThan(10);
    expect(tf.getBackend()).toBe('cpu');
  }, 300_000);
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { EXPLANATION_JSON } from './explain-phase.js';
import { explainRun } from './explain-run.js';
import { runPipeline } from './runner.js';

const iris = resolve(import.meta.dirname, '../../../../examples/iris-mlp/iris.csv');
let dir: string;

const yaml = (explain: string) =>
  [
    'name: explained',
    'seed: 3',
    'backend: cpu',
    'data:',
    `  source: { type: csv, path: ${JSON.stringify(iris)} }`,
    '  features: [sepal_length, sepal_width, petal_length, petal_width]',
    '  label: species',
    '  split: { validation: 0.2, test: 0.3 }',
    'preprocess:',
    '  - { type: standardize, columns: [sepal_length, sepal_width, petal_length, petal_width] }',
    'model: { type: mlp, units: [8] }',
    'train: { epochs: 30, batchSize: 16, optimizer: { type: adam, learningRate: 0.02 } }',
    'evaluate: { metrics: [accuracy, confusionMatrix], report: { png: false } }',
    explain,
    '',
  ].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-explain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('explain: in the pipeline', () => {
  it('writes explanation.json (importance per column, IG per column) and an Explanations section in report.html', async () => {
    const file = join(dir, 'p.yaml');
    await writeFile(file, yaml('explain: { examples: 3, repeats: 2, select: per-class }'));
    const result = await runPipeline(await loadPipelineConfig(file), { out: join(dir, 'run') });
    const explanation = JSON.parse(await readFile(join(result.runDir, EXPLANATION_JSON), 'utf8'));
    expect(explanation.format).toBe('tfpipe.explanation');
    expect(explanation.importance.metric).toBe('accuracy');
    expect(explanation.importance.importances.map((i: { column: string }) => i.column).sort()).toEqual([
      'petal_length',
      'petal_width',
      'sepal_length',
      'sepal_width',
    ]);
    expect(explanation.examples).toHaveLength(3);
    // per-class: the three examples have three different true classes.
    expect(new Set(explanation.examples.map((e: { label: string }) => e.label)).size).toBe(3);
    for (const e of explanation.examples) expect(Object.keys(e.columns)).toHaveLength(4);
    const html = await readFile(join(result.runDir, 'report.html'), 'utf8');
    expect(html).toContain('id="explain"');
    expect(html).toContain('Permutation importance (drop in accuracy, 2 shuffles)');

    // New rows without labels (explainRun, as `pipeline explain --input rows.csv`): the predicted class is explained.
    const csv = join(dir, 'new.csv');
    await writeFile(csv, 'sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n');
    const fresh = await explainRun(result.runDir, csv, { explain: { examples: 5 } });
    expect(fresh.importance).toBeUndefined();
    expect(fresh.examples).toHaveLength(2);
    expect(fresh.examples.map((e) => e.predicted)).toEqual(['setosa', 'virginica']);
    for (const e of fresh.examples) {
      expect(e.label).toBeUndefined();
      expect(e.target).toBe(e.predicted);
      const sum = Object.values(e.columns!).reduce((a, v) => a + v, 0);
      expect(sum).toBeCloseTo(e.output! - e.baselineOutput!, 3);
    }
  }, 300_000);

  it('a bad explain: value is a config error with its YAML path and line', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, yaml('explain: { select: worst }'));
    await expect(loadPipelineConfig(file)).rejects.toThrow(/explain\.select.*"worst".*most-wrong.*bad\.yaml:14/s);
  });
});

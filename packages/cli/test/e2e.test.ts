import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, repo, type Result } from './helpers.js';

// End-to-end: the real `pipeline` binary, from source, on fixture configs with slices of real data.
const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => join(here, 'fixtures', name);


const readJsonl = async (p: string) =>
  (await readFile(p, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochLine);

type EpochLine = { epoch: number; loss: number; val_loss: number; accuracy: number; val_accuracy: number } & Record<string, number>;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-e2e-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pipeline run (iris)', () => {
  let runDir: string;
  let first: Result;
  beforeAll(async () => {
    runDir = join(tmp, 'iris');
    first = await pipeline(['run', fixture('iris.yaml'), '--out', runDir, '--no-progress']);
  }, 300_000);

  it('exits 0 and writes a complete run directory', () => {
    expect(first.stderr + first.stdout).toContain('done: completed');
    expect(first.code).toBe(0);
    for (const f of ['run.json', 'config.resolved.yaml', 'metrics.jsonl', 'evaluation.json', 'report.html', 'model/model.json', 'model/weights.bin', 'model/preprocess.json', 'model/tensorizer.json', 'model/metadata.json', 'checkpoints']) {
      expect(existsSync(join(runDir, f)), f).toBe(true);
    }
  });

  it('logs per-epoch loss, metrics, samples/s and seconds, and the loss goes down', async () => {
    const lines = await readJsonl(join(runDir, 'metrics.jsonl'));
    expect(lines.map((l) => l.epoch)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    for (const l of lines) {
      for (const k of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'samplesPerSec', 'seconds']) expect(typeof l[k], k).toBe('number');
    }
    expect(lines.at(-1)!.loss).toBeLessThan(lines[0]!.loss * 0.7);
    expect(lines.at(-1)!.val_accuracy).toBeGreaterThan(lines[0]!.val_accuracy - 1e-9);
  });

  it('the resolved config fills every default', async () => {
    const text = await readFile(join(runDir, 'config.resolved.yaml'), 'utf8');
    expect(text).toMatch(/shuffleBuffer: 10000/);
    expect(text).toMatch(/batchSize: 16/);
  });

  it('the saved model reloads and gives the same test metrics', async () => {
    const evaluation = JSON.parse(await readFile(join(runDir, 'evaluation.json'), 'utf8')) as { metrics: Record<string, number> };
    const again = await pipeline(['evaluate', runDir, '--data', fixture('iris.yaml'), '--out', join(tmp, 'again.json')]);
    expect(again.code).toBe(0);
    const reloaded = JSON.parse(await readFile(join(tmp, 'again.json'), 'utf8')) as { metrics: Record<string, number> };
    expect(reloaded.metrics.accuracy).toBe(evaluation.metrics.accuracy);
    expect(reloaded.metrics.loss).toBeCloseTo(evaluation.metrics.loss!, 5);
  }, 300_000);

  it('the same seed, backend and data give the same metrics', async () => {
    const second = await pipeline(['run', fixture('iris.yaml'), '--out', join(tmp, 'iris-again'), '--no-progress']);
    expect(second.code).toBe(0);
    const a = await readJsonl(join(runDir, 'metrics.jsonl'));
    const b = await readJsonl(join(tmp, 'iris-again', 'metrics.jsonl'));
    expect(b.map((l) => [l.loss, l.val_loss, l.accuracy])).toEqual(a.map((l) => [l.loss, l.val_loss, l.accuracy]));
  }, 300_000);

  it('predict writes one prediction per row with label names', async () => {
    const out = join(tmp, 'preds.jsonl');
    const r = await pipeline(['predict', runDir, '--input', join(repo, 'examples/iris-mlp/iris.csv'), '--output', out]);
    expect(r.code).toBe(0);
    const preds = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { label: string; probabilities: Record<string, number> });
    expect(preds).toHaveLength(150);
    expect(['setosa', 'versicolor', 'virginica']).toContain(preds[0]!.label);
    expect(Object.values(preds[0]!.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  }, 300_000);

  it('runs list / show / compare read the run directories', async () => {
    const list = await pipeline(['runs', 'list', '--dir', tmp]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('iris');
    const show = await pipeline(['runs', 'show', runDir]);
    expect(show.stdout).toMatch(/status:\s+completed/);
    const cmp = await pipeline(['runs', 'compare', runDir, join(tmp, 'iris-again')]);
    expect(cmp.code).toBe(0);
    expect(cmp.stdout).toContain('test.accuracy');
  }, 300_000);
});

describe('pipeline run (MNIST slice, wasm)', () => {
  it('trains a CNN on real digits and improves over the epochs', async () => {
    const runDir = join(tmp, 'mnist');
    const r = await pipeline(['run', fixture('mnist-small.yaml'), '--out', runDir, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backend: wasm/);
    const lines = await readJsonl(join(runDir, 'metrics.jsonl'));
    expect(lines).toHaveLength(3);
    expect(lines[2]!.loss).toBeLessThan(lines[0]!.loss);
    const evaluation = JSON.parse(await readFile(join(runDir, 'evaluation.json'), 'utf8')) as { samples: number; metrics: Record<string, number> };
    expect(evaluation.samples).toBe(300);
    expect(evaluation.metrics.accuracy).toBeGreaterThan(0.6);
  }, 300_000);
});

describe('config errors', () => {
  it('validate names every problem with line:column and did-you-mean, exit 2', async () => {
    const r = await pipeline(['validate', fixture('typo.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model\.type: unknown type; received "mpl"; expected .*"mlp".*\(did you mean "mlp"\?\) \(.*typo\.yaml:7:9\)/);
    expect(r.stderr).toMatch(/train\.earlyStopping\.patince: unknown key.*\(did you mean "patience"\?\) \(.*typo\.yaml:11:5\)/);
  });

  it('a bad --set is reported like a bad file, exit 2', async () => {
    const r = await pipeline(['run', fixture('iris.yaml'), '--set', 'train.epochs=zero', '--out', join(tmp, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('train.epochs: wrong type; received "zero"; expected a number (--set train.epochs=zero)');
    expect(existsSync(join(tmp, 'never'))).toBe(false);
  });

  it('a column the data does not have is named with its line:column once the data is read, exit 2', async () => {
    const r = await pipeline(['run', fixture('bad-column.yaml'), '--out', join(tmp, 'bad-column'), '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data\.features\[1\]: unknown column; received "petal_lenght".*\(did you mean "petal_length"\?\) \(.*bad-column\.yaml:4:28\)/);
  }, 300_000);

  it('a failed gate exits 3 and names the gate', async () => {
    const r = await pipeline(['run', fixture('gate.yaml'), '--out', join(tmp, 'gate'), '--no-progress']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/accuracy [0-9.]+ < min 0\.999/);
    const info = JSON.parse(await readFile(join(tmp, 'gate', 'run.json'), 'utf8')) as { blessed: boolean; status: string };
    expect(info).toMatchObject({ blessed: false, status: 'gate-failed' });
  }, 300_000);

  it('schema prints a JSON Schema with the config sections', async () => {
    const r = await pipeline(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'data', 'preprocess', 'model', 'train', 'evaluate']));
  });

  it('an unknown command exits 2', async () => {
    const r = await pipeline(['frobnicate']);
    expect(r.code).toBe(2);
  });
});

describe('fine-tuning (MNIST 0-4 → 5-9)', () => {
  it('trains a base on digits 0-4, fine-tunes a new head on 5-9, and reports before vs after', async () => {
    const base = join(tmp, 'ft-base');
    const tuned = join(tmp, 'ft-tuned');
    const a = await pipeline(['run', fixture('mnist-0-4.yaml'), '--out', base, '--no-progress']);
    expect(a.code, a.stderr).toBe(0);
    const b = await pipeline(['run', fixture('mnist-5-9-finetune.yaml'), '--set', `finetune.base=${base}`, '--set', 'evaluate.robust={attack: fgsm, epsilon: 0.1}', '--out', tuned, '--no-progress']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/frozen: conv2d_0; new head: output/);
    const e = JSON.parse(await readFile(join(tuned, 'evaluation.json'), 'utf8')) as {
      metrics: Record<string, number>;
      labels: string[];
      before: { metrics: Record<string, number> };
      delta: Record<string, number>;
      robust: { accuracy: number; robustAccuracy: number };
    };
    expect(e.labels).toEqual(['5', '6', '7', '8', '9']);
    expect(e.metrics.accuracy).toBeGreaterThan(e.before.metrics.accuracy! + 0.2);
    expect(e.delta.accuracy).toBeCloseTo(e.metrics.accuracy! - e.before.metrics.accuracy!, 10);
    expect(e.robust.robustAccuracy).toBeLessThan(e.robust.accuracy);
    expect(await readFile(join(tuned, 'report.html'), 'utf8')).toMatch(/[Bb]efore/);
  }, 300_000);
});

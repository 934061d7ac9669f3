
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { majorityRate, node, pipeline, type QualityEvaluation, repo, type Result } from './helpers.js';

// Every example under examples/ validates, and the cheap ones run end to end on slices of their real data
// (a few hundred rows, one or two epochs) through the real `pipeline` binary. Prepared data files (tools/data)
// are written to a temp folder and passed with --set, so the test never writes into the working tree.
const _here = dirname(fileURLToPath(import.meta.url));
const examples = readdirSync(join(repo, 'examples'))
  .filter((d) => existsSync(join(repo, 'examples', d, 'pipeline.yaml')))
  .sort();

const example = (name: string) => join('examples', name, 'pipeline.yaml');
const readJson = async <T = Record<string, unknown>>(p: string) => JSON.parse(await readFile(p, 'utf8')) as T;
const readJsonl = async (p: string) =>
  (await readFile(p, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

// The sentiment slice: enough rows and epochs to learn above chance (about 0.75 on 150 test sentences).
const SENTIMENT = { limit: 1000, epochs: 3 };

interface Evaluation extends QualityEvaluation {
  bestEpoch?: number;
  stopReason?: string;
}

let tmp: string;
const prepared: Record<string, string> = {};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-examples-'));
  // The preparation scripts the example READMEs name, writing into the temp folder.
  for (const [name, file, extra] of [
    ['sentiment', 'sentences.jsonl', []],
    ['cars', 'cars.jsonl', []],
    ['spam', 'emails.jsonl', ['--limit', '600']],
  ] as const) {
    const out = join(tmp, file);
    const r = await node([join(repo, `tools/data/prepare-${name}.ts`), '--out', out, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    prepared[name] = out;
  }
}, 300_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.concurrent('pipeline validate', () => {
  it('finds the examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['iris-mlp', 'mnist-cnn', 'sentiment-lstm', 'spam-fusion', 'gate-failure']));
  });

  it.each(examples)('%s validates', async (name) => {
    const r = await pipeline(['validate', example(name)]);
    expect(r.stderr + r.stdout).toContain('valid');
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);
});

/** Runs an example into <tmp>/<name> and returns the run directory and the result. */
async function run(name: string, set: string[]): Promise<{ dir: string; r: Result }> {
  const dir = join(tmp, name);
  const r = await pipeline(['run', example(name), '--out', dir, '--no-progress', ...set.flatMap((s) => ['--set', s])]);
  return { dir, r };
}

function expectCompleteRun(dir: string): void {
  for (const f of ['run.json', 'config.resolved.yaml', 'metrics.jsonl', 'evaluation.json', 'model/model.json', 'model/weights.bin', 'model/preprocess.json', 'model/tensorizer.json']) {
    expect(existsSync(join(dir, f)), f).toBe(true);
  }
}

describe('pipeline run on slices', () => {
  it('iris-logistic learns iris with one softmax layer', async () => {
    const { dir, r } = await run('iris-logistic', ['train.epochs=40']);
    expect(r.code, r.stderr).toBe(0);
    expectCompleteRun(dir);
    // No convolution: the wasm backend runs one thread (more would only add hand-off costs).
    if (!process.env.TFPIPE_WASM_THREADS) expect(r.stderr + r.stdout).toMatch(/backend: wasm \(1 thread\)/);
    const model = await readJson<{ modelTopology: unknown }>(join(dir, 'model/model.json'));
    // One dense layer: the only kernel is [4 features, 3 classes].
    expect(JSON.stringify(model)).toMatch(/"shape":\[4,3\]/);
    const ev = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    expect(majorityRate(ev)).toBeLessThan(0.4); // three balanced classes
    expect(ev.metrics.accuracy).toBeGreaterThan(0.8);
  }, 300_000);

  it('cars-regression reports regression metrics that agree with each other', async () => {
    const { dir, r } = await run('cars-regression', [`data.source.path=${prepared.cars}`, 'train.epochs=20', 'evaluate.gates={}']);
    expect(r.code, r.stderr).toBe(0);
    expectCompleteRun(dir);
    const { metrics } = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    for (const k of ['mse', 'rmse', 'mae', 'r2']) expect(Number.isFinite(metrics[k]), k).toBe(true);
    expect(metrics.rmse! ** 2).toBeCloseTo(metrics.mse!, 3);
    expect(metrics.mae).toBeLessThanOrEqual(metrics.rmse! + 1e-9);
    // Better than predicting the mean (r² = 0), which is what a constant model does at best.
    expect(metrics.r2).toBeGreaterThan(0.5);
    const pre = await readJson<unknown>(join(dir, 'model/preprocess.json'));
    expect(JSON.stringify(pre)).toContain('impute');
  }, 300_000);

  it('early-stopping stops, restores the best epoch and says so in metrics.jsonl and evaluation.json', async () => {
    const { dir, r } = await run('early-stopping', []);
    expect(r.code, r.stderr).toBe(0);
    const lines = await readJsonl(join(dir, 'metrics.jsonl'));
    const ev = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    expect(ev.stopReason).toBe('early-stopping');
    expect(lines.length).toBeLessThan(200);
    // patience 5: the last epoch is 5 after the best, and the best has the lowest val_loss of the run.
    expect(lines.at(-1)!.epoch).toBe(ev.bestEpoch! + 5);
    const best = lines.find((l) => l.epoch === ev.bestEpoch)!;
    expect(Math.min(...lines.map((l) => l.val_loss!))).toBe(best.val_loss);
    const info = await readJson<{ bestEpoch: number; stopReason: string }>(join(dir, 'run.json'));
    expect(info).toMatchObject({ bestEpoch: ev.bestEpoch, stopReason: 'early-stopping' });
  }, 300_000);

  it('gate-failure exits 3, names each failed gate and its value, and leaves the model unblessed', async () => {
    const { dir, r } = await run('gate-failure', []);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/accuracy 0\.\d+ < min 0\.999/);
    expect(r.stderr).toMatch(/accuracy dropped [\d.]+ \(0\.9 -> 0\.\d+\) > maxDrop 0\.02/);
    expect(existsSync(join(dir, 'model/model.json'))).toBe(true);
    const info = await readJson<{ blessed: boolean; status: string }>(join(dir, 'run.json'));
    expect(info).toMatchObject({ blessed: false, status: 'gate-failed' });
  }, 300_000);

  it.each(['sentiment-lstm', 'sentiment-transformer'])('%s learns a slice of the prepared sentences', async (name) => {
    const { dir, r } = await run(name, [`data.source.path=${prepared.sentiment}`, `data.source.limit=${SENTIMENT.limit}`, `train.epochs=${SENTIMENT.epochs}`, 'evaluate.gates={}']);
    expect(r.code, r.stderr).toBe(0);
    expectCompleteRun(dir);
    const tz = await readJson<unknown>(join(dir, 'model/tensorizer.json'));
    expect(JSON.stringify(tz)).toContain('positive');
    expect((await readJsonl(join(dir, 'metrics.jsonl'))).length).toBeGreaterThanOrEqual(1);
    // Two balanced classes: a constant model scores the majority rate (about 0.5) and an AUC of 0.5.
    const ev = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    expect(ev.metrics.accuracy).toBeGreaterThan(majorityRate(ev) + 0.1);
    expect(ev.metrics.rocAuc).toBeGreaterThan(0.65);
  }, 300_000);

  it('mnist-cnn-zoo (presets through extends:) trains two epochs on 300 digits', async () => {
    // Two epochs: the preset's one-epoch warm-up must be shorter than training (a config error otherwise).
    const { dir, r } = await run('mnist-cnn-zoo', ['data.source.limit=300', 'data.split.test.source.limit=200', 'train.epochs=2', 'evaluate.gates={}']);
    expect(r.code, r.stderr).toBe(0);
    expectCompleteRun(dir);
    // A CNN: the wasm backend's threaded build, one thread per core (at most 8).
    const cores = Math.min(availableParallelism(), 8);
    if (!process.env.TFPIPE_WASM_THREADS) expect(r.stderr + r.stdout).toMatch(new RegExp(`backend: wasm \\(${cores} thread${cores === 1 ? '' : 's'}\\)`));
    const resolved = await readFile(join(dir, 'config.resolved.yaml'), 'utf8');
    // From configs/mnist-data.yaml and configs/adam-fast.yaml, merged under the example's own values.
    expect(resolved).toMatch(/t10k-images-idx3-ubyte/);
    expect(resolved).toMatch(/type: cosine/);
    expect(resolved).toMatch(/learningRate: 0\.005/);
    // Ten classes (chance 0.1). On so few steps batch norm's moving statistics are still settling, so the test
    // accuracy is modest, but a model that learned nothing scores at most the majority rate (0.14 here).
    const ev = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    expect(ev.metrics.accuracy).toBeGreaterThan(majorityRate(ev) + 0.05);
    const lines = await readJsonl(join(dir, 'metrics.jsonl'));
    expect(lines.at(-1)!.accuracy).toBeGreaterThan(0.2);
  }, 300_000);

  it('spam-fusion trains its two inputs on a slice of the prepared emails', async () => {
    const { dir, r } = await run('spam-fusion', [`data.source.path=${prepared.spam}`, 'train.epochs=3', 'evaluate.gates={}']);
    expect(r.code, r.stderr).toBe(0);
    expectCompleteRun(dir);
    expect(r.stdout + r.stderr).toMatch(/inputs: text\[64\], tabular\[7\]/);
    // About a third spam: always answering "ham" scores the majority rate, an F1 of 0 and an AUC of 0.5.
    const ev = await readJson<Evaluation>(join(dir, 'evaluation.json'));
    expect(ev.metrics.accuracy).toBeGreaterThan(majorityRate(ev) + 0.05);
    expect(ev.metrics.rocAuc).toBeGreaterThan(0.7);
    expect(ev.metrics.f1).toBeGreaterThan(0.3);
  }, 300_000);
});

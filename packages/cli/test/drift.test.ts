import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, repo } from './helpers.js';

// `pipeline run` writes model/profile.json; `pipeline drift` compares it with a config's test split, a data
// file and a request log, on the real iris data, through the real binary.
const here = dirname(fileURLToPath(import.meta.url));
const irisYaml = join(here, 'fixtures', 'iris.yaml');

let tmp: string;
let runDir: string;
let iris: { header: string; rows: string[][] };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-drift-'));
  runDir = join(tmp, 'iris');
  const run = await pipeline(['run', irisYaml, '--out', runDir, '--no-progress']);
  expect(run.code, run.stderr).toBe(0);
  const lines = (await readFile(join(repo, 'examples/iris-mlp/iris.csv'), 'utf8')).trim().split('\n');
  iris = { header: lines[0]!, rows: lines.slice(1).map((l) => l.split(',')) };
}, 120_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Iris with petal length + 2 cm and sepal width x 1.4: two of the four features moved. */
const shifted = () => iris.rows.map(([sl, sw, pl, pw, sp]) => [sl!, (Number(sw) * 1.4).toFixed(2), (Number(pl) + 2).toFixed(2), pw!, sp!]);
const record = (r: string[]) => ({ sepal_length: Number(r[0]), sepal_width: Number(r[1]), petal_length: Number(r[2]), petal_width: Number(r[3]) });

describe('model/profile.json', () => {
  it('profiles the training split\'s features (not the label) and the predictions on validation', async () => {
    const p = JSON.parse(await readFile(join(runDir, 'model', 'profile.json'), 'utf8'));
    expect(p.split).toBe('train');
    expect(p.rows).toBe(90); // 150 rows, 20% validation, 20% test
    expect(Object.keys(p.columns).sort()).toEqual(['petal_length', 'petal_width', 'sepal_length', 'sepal_width']);
    expect(p.columns.petal_length.kind).toBe('numeric');
    expect(p.columns.petal_length.sample).toHaveLength(90);
    expect(p.predictions.split).toBe('validation');
    expect(p.predictions.rows).toBe(30);
    // A trained model predicts all three species on a stratified validation split.
    expect(Object.keys(p.predictions.label.counts).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
  });
});

describe('pipeline drift', () => {
  it('the config\'s held-out test split: no drift, exit 0, drift.json and drift.html in the run directory', async () => {
    const r = await pipeline(['drift', runDir, '--current', irisYaml]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no drift: 0 of 4 columns drifted/);
    const report = JSON.parse(await readFile(join(runDir, 'drift.json'), 'utf8'));
    expect(report.current.rows).toBe(30);
    expect(report.driftDetected).toBe(false);
    expect(report.columns.map((c: { method: string }) => c.method)).toEqual(['ks', 'ks', 'ks', 'ks']);
    expect(existsSync(join(runDir, 'drift.html'))).toBe(true);
  });

  it('a shifted CSV: the two moved columns drift, dataset drift, exit 3', async () => {
    const csv = join(tmp, 'shifted.csv');
    await writeFile(csv, `${iris.header}\n${shifted().map((r) => r.join(',')).join('\n')}\n`);
    const out = join(tmp, 'shifted-report');
    const r = await pipeline(['drift', runDir, '--current', csv, '--out', out]);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(await readFile(join(out, 'drift.json'), 'utf8'));
    expect(report.datasetDrift).toBe(true);
    expect(report.columns.filter((c: { drifted: boolean }) => c.drifted).map((c: { column: string }) => c.column).sort()).toEqual(['petal_length', 'sepal_width']);
    const html = await readFile(join(out, 'drift.html'), 'utf8');
    expect(html.indexOf('petal_length')).toBeLessThan(html.indexOf('petal_width'));
    expect(html).toContain('<svg');
  });

  it('a request log: the last window of shifted requests drifts; a bad setting is exit 2 naming it', async () => {
    const log = join(tmp, 'log');
    await mkdir(log, { recursive: true });
    const line = (r: string[], i: number) => JSON.stringify({ id: `q${i}`, time: new Date(1_000 * i).toISOString(), run: runDir, inputs: record(r), prediction: { label: r[4], probabilities: { [r[4]!]: 0.9 } } });
    // 150 stable requests, then 60 shifted ones (every species: rows 0, 1, 5, 6, ...) in a second segment.
    await writeFile(join(log, 'requests-000001.jsonl'), `${iris.rows.map(line).join('\n')}\n`);
    await writeFile(join(log, 'requests-000002.jsonl'), `${shifted().filter((_, i) => i % 5 < 2).map((r, i) => line(r, 150 + i)).join('\n')}\n`);
    // Ground truth for 10 of the shifted requests: 6 agree with the logged prediction, 4 do not.
    const feedback = Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `q${150 + i}`, label: i < 6 ? iris.rows[[0, 1, 5, 6, 10, 11, 15, 16, 20, 21][i]!]![4] : 'none of them', time: new Date(0).toISOString() }));
    await writeFile(join(log, 'feedback-000001.jsonl'), `${feedback.join('\n')}\n`);
    const r = await pipeline(['drift', runDir, '--current', log, '--window', '60', '--out', join(tmp, 'log-report'), '--json']);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.current.rows).toBe(60);
    expect(report.feedback).toMatchObject({ labelled: 10, correct: 6, accuracy: 0.6 });
    expect(typeof report.feedback.reference).toBe('number'); // the run's test accuracy
    expect(report.columns.filter((c: { drifted: boolean }) => c.drifted).map((c: { column: string }) => c.column).sort()).toEqual(['petal_length', 'sepal_width']);

    const bad = await pipeline(['drift', runDir, '--current', log, '--set', 'numeric=kss', '--set', 'shar=0.3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/drift\.numeric: .*received "kss"/);
    expect(bad.stderr).toMatch(/drift\.shar: unknown .*did you mean "share"/);
  });
});

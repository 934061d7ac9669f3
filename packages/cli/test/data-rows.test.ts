import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, repo } from './helpers.js';

// Bad data rows through the real `pipeline run`: counted, logged with their lines, written into run.json
// and the report, bounded by maxSkipped; a missing cell is named by its line in the file.
let tmp: string;
let iris: string[];
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-rows-'));
  iris = (await readFile(join(repo, 'examples/iris-mlp/iris.csv'), 'utf8')).trim().split('\n');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Writes iris.csv with some lines replaced (1-based file line → text) and a config reading it. */
async function setup(name: string, replace: Record<number, string>, source: Record<string, unknown> = {}, extra = ''): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir);
  const lines = iris.map((l, i) => replace[i + 1] ?? l);
  await writeFile(join(dir, 'iris.csv'), `${lines.join('\n')}\n`);
  const src = JSON.stringify({ type: 'csv', path: './iris.csv', ...source });
  const yaml = `name: rows-${name}
seed: 7
backend: cpu
data:
  source: ${src}
  features: [sepal_length, sepal_width, petal_length, petal_width]
  label: species
  split: { validation: 0.2, test: 0.2, stratify: species }
preprocess:
  - { type: standardize, columns: [sepal_length, sepal_width, petal_length, petal_width] }
model: { type: mlp, units: [8] }
train: { epochs: 1, batchSize: 16, metrics: [accuracy] }
evaluate: { metrics: [accuracy] }
${extra}`;
  await writeFile(join(dir, 'pipeline.yaml'), yaml);
  return dir;
}

const BAD = { 5: '4.6,3.1,1.5', 40: '5.1,abc,1.5,0.2,setosa', 77: '6.8,2.8,4.8,1.4,versicolor,extra', 130: '7.2,x,5.8,1.6,virginica' };

describe('onError: skip through pipeline run', () => {
  it('counts skipped rows per reason, logs their lines, writes them into run.json and the report', async () => {
    const dir = await setup('skip', BAD, { onError: 'skip' });
    const r = await pipeline(['run', join(dir, 'pipeline.yaml'), '--out', join(dir, 'run'), '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('data: 4 rows skipped (onError: skip): 2 rows: wrong number of fields (line 5, line 77); 2 rows: unreadable value in column "sepal_width" (line 40, line 130)');
    const info = JSON.parse(await readFile(join(dir, 'run', 'run.json'), 'utf8')) as { status: string; skipped: { skipped: number; reasons: { reason: string; count: number; first: { line: number; received?: unknown }[] }[] } };
    expect(info.status).toBe('completed');
    expect(info.skipped.skipped).toBe(4);
    expect(info.skipped.reasons.map((x) => [x.reason, x.count, x.first.map((f) => f.line)])).toEqual([
      ['wrong number of fields', 2, [5, 77]],
      ['unreadable value in column "sepal_width"', 2, [40, 130]],
    ]);
    expect(info.skipped.reasons[1]!.first.map((f) => f.received)).toEqual(['abc', 'x']);
    const html = await readFile(join(dir, 'run', 'report.html'), 'utf8');
    expect(html).toContain('Skipped rows');
    expect(html).toContain('4 rows skipped while reading the data');
    expect(html).toContain("unreadable value in column &#34;sepal_width&#34;");
    const evaluation = JSON.parse(await readFile(join(dir, 'run', 'evaluation.json'), 'utf8')) as { samples: number };
    expect(evaluation.samples).toBeLessThan(150 * 0.2 + 2); // the skipped rows are not in the test split either
  }, 300_000);

  it('maxSkipped fails the run when passed, naming the rows; run.json says why', async () => {
    const dir = await setup('max', BAD, { onError: 'skip', maxSkipped: 2 });
    const r = await pipeline(['run', join(dir, 'pipeline.yaml'), '--out', join(dir, 'run'), '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data.source: 3 rows skipped, more than maxSkipped: 2');
    expect(r.stderr).toMatch(/line 5, line 77.*line 40/);
    const info = JSON.parse(await readFile(join(dir, 'run', 'run.json'), 'utf8')) as { status: string; error: string };
    expect(info.status).toBe('failed');
    expect(info.error).toContain('maxSkipped');
    const frac = await setup('frac', BAD, { onError: 'skip', maxSkipped: 0.01 });
    const f = await pipeline(['run', join(frac, 'pipeline.yaml'), '--out', join(frac, 'run'), '--no-progress']);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('4 of 150 rows skipped (2.67%), more than maxSkipped: 0.01 (1.00%)');
  }, 300_000);

  it('a non-numeric cell in a numeric column fails under onError: fail, naming line, column and value', async () => {
    const dir = await setup('fail', { 40: '5.1,abc,1.5,0.2,setosa' });
    const r = await pipeline(['run', join(dir, 'pipeline.yaml'), '--out', join(dir, 'run'), '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('iris.csv, line 40, column "sepal_width": cannot read "abc" as a number');
    expect(r.stderr).not.toContain('kind string');
  }, 300_000);

  it('a missing cell is named by its line in the file', async () => {
    const dir = await setup('missing', { 102: '5.8,2.7,,1.9,virginica' });
    const r = await pipeline(['run', join(dir, 'pipeline.yaml'), '--out', join(dir, 'run'), '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'iris.csv')} line 102: column "petal_length" is missing`);
  }, 300_000);
});

describe('fine-tuning from a base run', () => {
  it('an unreadable preprocess.json in the base fails the run instead of meaning "no preprocessing"', async () => {
    const dir = await setup('base', {});
    const base = join(dir, 'run');
    const r = await pipeline(['run', join(dir, 'pipeline.yaml'), '--out', base, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const broken = join(dir, 'broken');
    await cp(base, broken, { recursive: true });
    await rm(join(broken, 'model', 'preprocess.json'));
    await mkdir(join(broken, 'model', 'preprocess.json')); // a folder where the file should be: EISDIR
    const ft = `extends: ./pipeline.yaml
name: rows-finetune
model: null
preprocess: []
finetune: { base: ./broken }
`;
    await writeFile(join(dir, 'finetune.yaml'), ft);
    const f = await pipeline(['run', join(dir, 'finetune.yaml'), '--out', join(dir, 'ft'), '--no-progress']);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`finetune.base: cannot read ${join(broken, 'model', 'preprocess.json')}`);
  }, 300_000);
});

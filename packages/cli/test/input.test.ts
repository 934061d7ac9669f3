import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, pipeline, repo, SOURCE_FLAGS, spawnResult } from './helpers.js';

// Bad input from the command line never hangs, crashes or is accepted half-read: the real binary, one
// child process per case.
const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => join(here, 'fixtures', name);

let tmp: string;
let runDir: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-input-'));
  runDir = join(tmp, 'iris');
  const r = await pipeline(['run', fixture('iris.yaml'), '--out', runDir, '--no-progress', '--set', 'train.epochs=2']);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// [arguments, the option as commander names it, the value, words of what is allowed]
const cases: [string[], string, string, RegExp][] = [
  [['predict', 'RUN', '--input', 'IN', '--batch-size', '0'], '--batch-size <n>', '0', /an integer >= 1/],
  [['predict', 'RUN', '--input', 'IN', '--batch-size', 'abc'], '--batch-size <n>', 'abc', /an integer >= 1/],
  [['predict', 'RUN', '--input', 'IN', '--batch-size', '1.5'], '--batch-size <n>', '1.5', /an integer >= 1/],
  [['serve', 'RUN', '--port', '80x'], '--port <n>', '80x', /an integer from 0 to 65535/],
  [['serve', 'RUN', '--port', 'abc'], '--port <n>', 'abc', /an integer from 0 to 65535/],
  [['serve', 'RUN', '--port', '70000'], '--port <n>', '70000', /an integer from 0 to 65535/],
  [['serve', 'RUN', '--max-batch', '0'], '--max-batch <n>', '0', /an integer >= 1/],
  [['serve', 'RUN', '--batch-wait-ms', '-1'], '--batch-wait-ms <n>', '-1', /an integer from 0 to 60000/],
  [['serve', 'RUN', '--body-limit', '10 apples'], '--body-limit <size>', '10 apples', /a size > 0/],
  [['sweep', 'CONFIG', '--timeout', 'abc'], '--timeout <duration>', 'abc', /a duration > 0/],
  [['sweep', 'CONFIG', '--parallel', 'abc'], '--parallel <n>', 'abc', /an integer >= 1/],
  [['sweep', 'CONFIG', '--emit', 'helm'], '--emit <target>', 'helm', /"k8s" \| "job" \| "argo"/],
  [['sweep', 'CONFIG', '--queue', 'localhost:6379'], '--queue <redis-url>', 'localhost:6379', /redis:\/\//],
  [['worker', '--queue', 'redis://127.0.0.1:6379', '--concurrency', '0'], '--concurrency <n>', '0', /an integer >= 1/],
];

describe.concurrent('every option is parsed strictly: exit 2 naming the option, the value and what is allowed', () => {
  for (const [args, option, value, words] of cases) {
    it(`${args[0]} ${option.split(' ')[0]} ${JSON.stringify(value)}`, async () => {
      const input = join(tmp, 'missing.csv');
      const r = await pipeline(args.map((a) => (a === 'RUN' ? runDir : a === 'IN' ? input : a === 'CONFIG' ? fixture('iris-sweep.yaml') : a)));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`option '${option}' argument '${value}' is invalid`);
      expect(r.stderr).toMatch(words);
      expect(r.stderr).not.toMatch(/ZodError|\n\s+at /);
      expect(r.stdout).toBe('');
    }, 300_000);
  }
});

describe('predict', () => {
  it('checks its input before loading the model, exit 2, and leaves no output file', async () => {
    const out = join(tmp, 'never.jsonl');
    const r = await pipeline(['predict', runDir, '--input', join(tmp, 'nope.csv'), '--output', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--input ${join(tmp, 'nope.csv')}: no such file or folder`);
    expect(r.stderr).not.toContain('backend:'); // the model (and the backend) never started
    expect(existsSync(out)).toBe(false);
    await writeFile(join(tmp, 'rows.parquet'), 'x');
    const fmt = await pipeline(['predict', runDir, '--input', join(tmp, 'rows.parquet'), '--output', out]);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/cannot tell the format from "\.parquet"/);
    expect(fmt.stderr).not.toContain('backend:');
    const folder = await pipeline(['predict', runDir, '--input', join(repo, 'examples/iris-mlp/iris.csv'), '--output', join(tmp, 'no-such-folder', 'p.jsonl')]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('does not exist');
    expect(folder.stderr).not.toContain('backend:');
  }, 300_000);

  it('a run that fails part-way leaves no output file (not an empty or half one)', async () => {
    const good = (await readFile(join(repo, 'examples/iris-mlp/iris.csv'), 'utf8')).trim().split('\n');
    // 300 good rows, then a row the run cannot read: the first batches are predicted before the error.
    const lines = [good[0]!, ...good.slice(1), ...good.slice(1), '5.1,abc,1.4,0.2,setosa'];
    await writeFile(join(tmp, 'bad-late.csv'), `${lines.join('\n')}\n`);
    const out = join(tmp, 'half.jsonl');
    const r = await pipeline(['predict', runDir, '--input', join(tmp, 'bad-late.csv'), '--output', out, '--batch-size', '16']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line ${lines.length}, column "sepal_width": cannot read "abc" as a number`);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(tmp)).filter((n) => n.includes('half.jsonl'))).toEqual([]);
    const ok = await pipeline(['predict', runDir, '--input', join(repo, 'examples/iris-mlp/iris.csv'), '--output', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(150);
  }, 300_000);

  it('`| head -1` ends quietly: exit 0, no EPIPE', async () => {
    // Far more output than a pipe buffer holds, so writes continue after `head` has gone.
    const rows = ['sepal_length,sepal_width,petal_length,petal_width'];
    for (let i = 0; i < 20_000; i++) rows.push(`${(4 + (i % 40) / 10).toFixed(1)},3.0,${(1 + (i % 50) / 10).toFixed(1)},${((i % 25) / 10).toFixed(1)}`);
    await writeFile(join(tmp, 'many.csv'), `${rows.join('\n')}\n`);
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const cmd = `${q(process.execPath)} ${SOURCE_FLAGS.map(q).join(' ')} ${q(bin)} predict ${q(runDir)} --input ${q(join(tmp, 'many.csv'))} 2>${q(join(tmp, 'head.err'))} | head -1; echo "status=\${PIPESTATUS[0]}"`;
    const r = await spawnResult('bash', ['-c', cmd]);
    const [first, status] = r.stdout.trim().split('\n');
    expect(JSON.parse(first!)).toMatchObject({ row: 0 });
    expect(status).toBe('status=0');
    const err = await readFile(join(tmp, 'head.err'), 'utf8');
    expect(err).not.toMatch(/EPIPE|error/i);
  }, 300_000);
});

describe('run --out', () => {
  it('refuses a folder that already holds a run before writing anything, exit 2', async () => {
    const files = ['run.json', 'config.resolved.yaml', 'metrics.jsonl'];
    const before = await Promise.all(files.map(async (f) => ({ text: await readFile(join(runDir, f), 'utf8'), mtime: (await stat(join(runDir, f))).mtimeMs })));
    const listing = await readdir(runDir);
    const r = await pipeline(['run', fixture('iris.yaml'), '--out', runDir, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${runDir}: the folder already holds a run (run.json, status "completed")`);
    expect(r.stderr).toContain(`--resume ${runDir}`);
    const after = await Promise.all(files.map(async (f) => ({ text: await readFile(join(runDir, f), 'utf8'), mtime: (await stat(join(runDir, f))).mtimeMs })));
    expect(after).toEqual(before);
    expect(await readdir(runDir)).toEqual(listing);
  }, 300_000);

  it('refuses a folder with other files in it, and takes an empty one', async () => {
    const full = join(tmp, 'full');
    await mkdir(full);
    await writeFile(join(full, 'notes.txt'), 'mine');
    const r = await pipeline(['run', fixture('iris.yaml'), '--out', full, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not empty (notes.txt)');
    expect(await readdir(full)).toEqual(['notes.txt']);
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    const ok = await pipeline(['run', fixture('iris.yaml'), '--out', empty, '--no-progress', '--set', 'train.epochs=1']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(empty, 'run.json'))).toBe(true);
  }, 300_000);
});

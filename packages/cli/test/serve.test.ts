import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { promote } from '@tfpipe/serve';
import { main } from '../src/program.js';
import { pipeline, repo, startPipeline } from './helpers.js';

const fixture = (name: string) => join(repo, 'packages/cli/test/fixtures', name);
let tmp: string;
let runs: string;

/** Resolves with the server's URL once `pipeline serve` prints it. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((ok, fail) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = err.match(/ on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) ok(m[1]!);
    });
    child.on('exit', (code) => fail(new Error(`pipeline serve exited (${code}) before listening:\n${err}`)));
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-cli-serve-'));
  runs = join(tmp, 'runs');
  const r = await pipeline(['run', fixture('iris.yaml'), '--out', join(runs, 'iris-a'), '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  await cp(join(runs, 'iris-a'), join(runs, 'iris-b'), { recursive: true }); // a second run: the swap is seen by its name
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pipeline serve: new options', () => {
  it('refuses bad values with exit 2, naming the option and what is allowed', async () => {
    const cases: [string[], RegExp][] = [
      [['serve'], /missing the run directory/],
      [['serve', join(runs, 'iris-a'), '--production', runs], /not both/],
      [['serve', join(runs, 'iris-a'), '--log', join(tmp, 'l'), '--log-sample', '2'], /--log-sample: received "2"; expected a number with 0 < rate <= 1/],
      [['serve', join(runs, 'iris-a'), '--log-sample', '0.5'], /--log-sample.*to be given with --log/],
      [['serve', join(runs, 'iris-a'), '--max-queue', '0'], /--max-queue: received "0"; expected a whole number >= 1/],
      [['serve', join(runs, 'iris-a'), '--timeout-ms', '5s'], /--timeout-ms: received "5s"/],
      [['serve', '--production', join(tmp, 'no-runs-here')], /no readable production pointer/],
    ];
    // In-process (the checks come before any model is loaded): the exit code and what went to stderr.
    for (const [args, pattern] of cases) {
      let stderr = '';
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
        stderr += String(s);
        return true;
      });
      let code: number;
      try {
        code = await main(['node', 'pipeline', ...args]);
      } finally {
        spy.mockRestore();
      }
      expect(stderr, args.join(' ')).toMatch(pattern);
      expect(code, args.join(' ')).toBe(stderr.includes('no readable production pointer') ? 1 : 2);
    }
  });

  it('--production serves the pointer\'s run and swaps on promotion; --log writes requests and feedback', async () => {
    await promote(runs, join(runs, 'iris-a'), { reason: 'first' });
    const log = join(tmp, 'log');
    const child = startPipeline(['serve', '--production', runs, '--port', '0', '--log', log, '--log-sample', '1']);
    try {
      const url = await listening(child);
      const meta = async () => ((await (await fetch(`${url}/metadata`)).json()) as { run: string }).run;
      expect(await meta()).toBe('iris-a');
      const record = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
      expect(res.status).toBe(200);
      const id = `${res.headers.get('x-request-id')}#0`;
      const fb = await fetch(`${url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, label: 'setosa' }) });
      expect(fb.status).toBe(200);
      await promote(runs, join(runs, 'iris-b'), { reason: 'better' });
      while ((await meta()) !== 'iris-b') await new Promise((r) => setTimeout(r, 20));
      const after = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
      expect(after.headers.get('x-tfpipe-run')).toBe('iris-b');
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    // SIGTERM flushed the log.
    expect((await readdir(log)).sort()).toEqual(['feedback-000001.jsonl', 'requests-000001.jsonl']);
    const rows = (await readFile(join(log, 'requests-000001.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { run: string });
    expect(rows.map((r) => r.run)).toEqual(['iris-a', 'iris-b']);
  });
});

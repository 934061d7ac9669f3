/**
 * A sweep and a worker that lose Redis: a redis-server of the test's own (on a free port, no persistence) is
 * stopped mid-sweep. Brought back, the sweep goes on (trials a restarted, empty Redis forgot are queued again);
 * left down, the sweep and the worker fail with a message naming Redis and the limit. Every moment is chosen
 * by an observed condition (a trial has started, both sides have noticed the loss), never by a sleep.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonLines } from '@tfpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { score } from './__fixtures__/quadratic-runner.js';
import { childExecArgv, runSweepOnQueue, workerEntryPath } from './index.js';

const QUADRATIC = `${fileURLToPath(new URL('./__fixtures__/quadratic-runner.ts', import.meta.url))}#runTrial`;
const haveRedis = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!haveRedis) console.warn('SKIPPING the Redis outage tests: no redis-server on PATH');

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on `port` (no persistence: a restart comes back empty) and waits until it accepts connections. */
function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) resolve(proc);
    });
    proc.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

async function stopRedis(proc: ChildProcess): Promise<void> {
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await gone;
}

interface Worker {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function startWorkerProcess(url: string, redisTimeout: number): Promise<Worker> {
  const entry = workerEntryPath();
  const scratch = await mkdtemp(join(tmpdir(), 'tfpipe-outage-worker-'));
  const args = ['worker', '--queue', url, '--runner', QUADRATIC, '--name', 'wo', '--scratch', scratch, '--redis-timeout', String(redisTimeout)];
  args.push('--lock-duration', '3000', '--stalled-interval', '1000', '--poll-ms', '150');
  const proc = spawn(process.execPath, [...childExecArgv(entry), entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('worker wo ready')) resolve();
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    void exited.then((code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
  return { proc, output: () => out, exited };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  // Bounded only so that a broken build fails instead of hanging; no outcome depends on it.
  for (let i = 0; i < 1200; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const base = { name: 'quad', seed: 3, objective: { x: 0, y: 2 }, work: { ms: 0 } };

describe.skipIf(!haveRedis)('losing Redis mid-sweep', () => {
  it('a sweep and a worker that get Redis back (restarted, empty) go on and complete every trial', async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-redis-'));
    let redis = await startRedis(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    // Limits far beyond how long the restart takes: the outcome does not depend on the machine's speed.
    const worker = await startWorkerProcess(url, 600);
    const journal = await mkdtemp(join(tmpdir(), 'tfpipe-outage-journal-'));
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-outage-'));
    const log: string[] = [];
    const logger = { info: (m: string) => log.push(m), warn: (m: string) => log.push(m) };
    const sweep = runSweepOnQueue({
      connection: url,
      config: { ...base, work: { ms: 1500, journal } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1, 0.3, 0.7] }, retries: { attempts: 3, backoffMs: 100 } },
      sweepDir,
      redisTimeoutSeconds: 600,
      noWorkerTimeoutSeconds: 600,
      pollMs: 100,
      logger,
    });
    sweep.catch(() => {});
    await waitFor('a trial to start', () => readJsonLines(join(journal, 'trial-000.jsonl')).then((l) => (l.length ? true : undefined), () => undefined));
    await stopRedis(redis);
    await waitFor('the sweep to notice', () => (log.some((m) => m.includes('lost Redis')) ? true : undefined));
    await waitFor('the worker to notice', () => (worker.output().includes('lost Redis') ? true : undefined));
    redis = await startRedis(port, dir);
    const summary = await sweep;
    expect(summary.status).toBe('completed');
    for (const r of summary.trials) {
      expect(r.status).toBe('completed');
      expect(r.metric).toBeCloseTo(score(r.params['objective.x'] as number, 2), 12);
      const result = JSON.parse(await readFile(join(sweepDir, 'trials', r.id, 'result.json'), 'utf8')) as { status: string };
      expect(result.status).toBe('completed');
    }
    expect(log.some((m) => /the sweep .*: Redis at redis:\/\/127\.0\.0\.1:\d+ is back after/.test(m))).toBe(true);
    expect(worker.output()).toMatch(/worker wo: Redis at redis:\/\/127\.0\.0\.1:\d+ is back after/);
    expect(worker.proc.exitCode).toBe(null);
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('a sweep and a worker that stay without Redis past the limit fail, naming Redis and the limit', async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-redis-'));
    const redis = await startRedis(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const worker = await startWorkerProcess(url, 1);
    const journal = await mkdtemp(join(tmpdir(), 'tfpipe-outage-journal-'));
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-outage-'));
    const sweep = runSweepOnQueue({
      connection: url,
      // The trial would take ten minutes: only the lost Redis can end this sweep.
      config: { ...base, work: { ms: 600_000, journal } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1] } },
      sweepDir,
      redisTimeoutSeconds: 1,
      noWorkerTimeoutSeconds: 600,
      pollMs: 100,
    });
    sweep.catch(() => {});
    await waitFor('the trial to start', () => readJsonLines(join(journal, 'trial-000.jsonl')).then((l) => (l.length ? true : undefined), () => undefined));
    await stopRedis(redis);
    await expect(sweep).rejects.toThrow(/the sweep .* lost Redis at redis:\/\/127\.0\.0\.1:\d+ for more than 1 s .*; giving up/);
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toMatch(/error: worker wo lost Redis at redis:\/\/127\.0\.0\.1:\d+ for more than 1 s/);
    const written = JSON.parse(await readFile(join(sweepDir, 'sweep.json'), 'utf8')) as { status: string; error: string };
    expect(written.status).toBe('failed');
    expect(written.error).toMatch(/lost Redis/);
  });
});

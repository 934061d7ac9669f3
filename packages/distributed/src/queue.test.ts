import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonLines } from '@tfpipe/core';
import { skipWithout } from '@tfpipe/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { score } from './__fixtures__/quadratic-runner.js';
import { childExecArgv, pingRedis, runSweepOnQueue, startWorker, sweepStatus, workerEntryPath } from './index.js';

const REDIS = process.env.TFPIPE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
// A refused connection answers at once; the long limit only keeps a loaded machine from looking like "no Redis".
const reachable = await pingRedis(REDIS, 15_000).then(
  () => true,
  () => false,
);
// Skips without Redis, except under CI (or TFPIPE_REQUIRE_SERVICES=1), where that fails the file.
const noRedis = skipWithout('Redis', reachable, `no Redis at ${REDIS} (start one: redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes)`);

const QUADRATIC = `${fileURLToPath(new URL('./__fixtures__/quadratic-runner.ts', import.meta.url))}#runTrial`;
const PREFIX = `tfpipe-test-${process.pid}-${Date.now().toString(36)}`;
const base = { name: 'quad', seed: 3, objective: { x: 0, y: 2 }, work: { ms: 0, alwaysFail: false, failAttempts: 0 } };
const fast = { noWorkerTimeoutSeconds: 20, pollMs: 100 };

interface SpawnedWorker {
  name: string;
  proc: ChildProcess;
  pid: number;
}

/** A real worker process running the package's worker entry, as `pipeline worker` will. */
function spawnWorker(name: string): Promise<SpawnedWorker> {
  const entry = workerEntryPath();
  const args = ['worker', '--queue', REDIS, '--prefix', PREFIX, '--runner', QUADRATIC, '--name', name];
  // Short enough to keep the test quick, long enough that a loaded 2-core machine does not lose locks.
  args.push('--lock-duration', '3000', '--stalled-interval', '1000', '--poll-ms', '150');
  const proc = spawn(process.execPath, [...childExecArgv(entry), entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(`worker ${name} ready`)) resolve({ name, proc, pid: proc.pid! });
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    proc.on('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${out}`)));
  });
}

/** Polls `fn` until it returns a value: a wait on a condition, never on time (the test's own timeout is the only guard). */
async function waitFor<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(noRedis)('BullMQ executor on a real Redis', () => {
  const workers: SpawnedWorker[] = [];

  beforeAll(async () => {
    workers.push(...(await Promise.all([spawnWorker('w1'), spawnWorker('w2')])));
  });

  afterAll(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.proc.exitCode !== null || w.proc.signalCode !== null ? undefined : new Promise((r) => w.proc.once('exit', r)))));
    const redis = new Redis(REDIS);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  });

  it('two worker processes share a sweep; a SIGKILLed worker’s trial is taken over by the other', async () => {
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const [w1, w2] = workers as [SpawnedWorker, SpawnedWorker];
    // No trial finishes before the release file exists, so w1 is still inside its trial when it is killed,
    // however slow the machine (a fixed duration here let a loaded machine's w1 finish first).
    const release = join(sweepDir, 'release');
    const sweep = runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: { ...base, work: { ...base.work, untilFile: release } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0, 0.3, 0.6] }, retries: { attempts: 2, backoffMs: 100 }, timeoutSeconds: 80 },
      sweepDir,
    });
    sweep.catch(() => {});
    // Wait until w1 is inside a trial (its trial child has written a start), then kill it hard.
    const victim = await waitFor(async () => {
      const ids = await readdir(join(sweepDir, 'trials')).catch(() => [] as string[]);
      for (const id of ids) {
        const starts = await readJsonLines<{ ppid: number }>(join(sweepDir, 'trials', id, 'starts.jsonl'));
        if (starts.some((s) => s.ppid === w1.pid)) return id;
      }
      return undefined;
    });
    w1.proc.kill('SIGKILL');
    await new Promise((r) => (w1.proc.exitCode !== null || w1.proc.signalCode !== null ? r(undefined) : w1.proc.once('exit', r)));
    await writeFile(release, '');
    const summary = await sweep;
    expect(summary.status).toBe('completed');
    expect(summary.trials.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    for (const r of summary.trials) expect(r.metric).toBeCloseTo(score(r.params['objective.x'] as number, 2), 12);
    const taken = summary.trials.find((r) => r.id === victim)!;
    expect(taken.worker).toBe('w2');
    const starts = await readJsonLines<{ ppid: number }>(join(sweepDir, 'trials', victim, 'starts.jsonl'));
    expect(starts.map((s) => s.ppid)).toEqual([w1.pid, w2.pid]);
    expect(summary.best?.params).toEqual({ 'objective.x': 0.3 });
    // The summary is in Redis too, and the workers' results agree with it.
    const fromRedis = await sweepStatus({ connection: REDIS, prefix: PREFIX, sweepId: summary.id });
    expect(fromRedis.trials.map((r) => [r.id, r.status, r.metric])).toEqual(summary.trials.map((r) => [r.id, r.status, r.metric]));
    const fromDir = await sweepStatus(sweepDir);
    expect(fromDir.best).toEqual(summary.best);
  }, 120_000);

  it('retries a failing trial, and fails the sweep clearly when retries run out', async () => {
    const retried = await runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: { ...base, work: { ...base.work, failAttempts: 1 } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.3] }, retries: { attempts: 2, backoffMs: 50 } },
      sweepDir: await mkdtemp(join(tmpdir(), 'tfpipe-queue-')),
    });
    expect(retried.trials[0]).toMatchObject({ status: 'completed', attempts: 2 });

    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    await expect(
      runSweepOnQueue({
        connection: REDIS,
        prefix: PREFIX,
        ...fast,
        config: { ...base, work: { ...base.work, alwaysFail: true } },
        sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.5] }, retries: { attempts: 3, backoffMs: 50 } },
        sweepDir,
      }),
    ).rejects.toThrow(/trial trial-000 failed after 3 attempt\(s\): objective failed on purpose at x=0.5/);
    const starts = await readJsonLines(join(sweepDir, 'trials', 'trial-000', 'starts.jsonl'));
    expect(starts).toHaveLength(3);
  });

  it('a failed sweep removes its jobs, and a worker stops the trial it can no longer report', async () => {
    // Two live workers, so that both trials run at once (w1 was killed above).
    workers.push(await spawnWorker('w3'));
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const failing = runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: base,
      sweep: {
        metric: 'score',
        direction: 'max',
        // trial-000 sleeps a minute; trial-001 fails, with no retry, as soon as trial-000 has started (so that
        // there is a running trial to stop, however slow the machine is).
        parameters: { work: [{ ms: 60_000 }, { ms: 0, alwaysFail: true, afterStartOf: 'trial-000' }] },
        retries: { attempts: 1, backoffMs: 0 },
      },
      sweepDir,
    });
    await expect(failing).rejects.toThrow(/trial trial-001 failed after 1 attempt/);
    const result = await waitFor(() =>
      readFile(join(sweepDir, 'trials', 'trial-000', 'result.json'), 'utf8').then(
        (t) => JSON.parse(t) as { status: string; error: string },
        () => undefined,
      ),
    );
    expect(result).toMatchObject({ status: 'failed', error: 'aborted' });
  });

  it('fails, instead of waiting forever, when no worker listens', async () => {
    await expect(
      runSweepOnQueue({
        connection: REDIS,
        prefix: `${PREFIX}-empty`,
        noWorkerTimeoutSeconds: 1,
        pollMs: 100,
        config: base,
        sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.5] } },
        sweepDir: await mkdtemp(join(tmpdir(), 'tfpipe-queue-')),
      }),
    ).rejects.toThrow(/no worker has listened on queue sweep-tfpipe-queue-.* for 1 s; 1 trial\(s\) are waiting/);
  });

  it('an in-process worker bound to one sweep runs successive halving, rung after rung', async () => {
    const prefix = `${PREFIX}-inproc`;
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const sweepId = 'inproc-sweep';
    const worker = await startWorker({
      connection: REDIS,
      prefix,
      queue: sweepId,
      name: 'inproc',
      runner: async (trial, ctx) => ({ metrics: { score: score(trial.params['objective.x'] as number, 2) }, runDir: ctx.runDir }),
    });
    try {
      const summary = await runSweepOnQueue({
        connection: REDIS,
        prefix,
        ...fast,
        config: base,
        sweep: {
          method: 'halving',
          budget: 4,
          metric: 'score',
          direction: 'max',
          halving: { resource: 'objective.y', min: 1, max: 4, eta: 2 },
          parameters: { 'objective.x': { choice: [-0.5, 0, 0.1, 0.25, 0.6, 0.9] } },
        },
        sweepDir,
        sweepId,
      });
      // 4 points at y=1, the best 2 at y=2, the best 1 at y=4.
      expect(summary.trials.map((r) => r.rung ?? 0)).toEqual([0, 0, 0, 0, 1, 1, 2]);
      expect(summary.trials.every((r) => r.worker === 'inproc' && r.status === 'completed')).toBe(true);
      const xs = summary.trials.filter((r) => r.rung === 0).map((r) => r.params['objective.x'] as number);
      const closest = [...xs].sort((a, b) => Math.abs(a - 0.3) - Math.abs(b - 0.3));
      expect(summary.trials.filter((r) => r.rung === 1).map((r) => r.params['objective.x'])).toEqual(closest.slice(0, 2));
      expect(summary.best?.params['objective.x']).toBe(closest[0]);
    } finally {
      await worker.close();
      const redis = new Redis(REDIS);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });
});

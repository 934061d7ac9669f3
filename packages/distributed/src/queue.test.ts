import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonLines } from '@tfpipe/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithout } from '@tfpipe/test-utils';
import { score, seededBytes } from './__fixtures__/quadratic-runner.js';
import { childExecArgv, pingRedis, runSweepOnQueue, startWorker, sweepStatus, workerEntryPath } from './index.js';

const REDIS = process.env.TFPIPE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const reachable = await pingRedis(REDIS, 15_000).then(
  () => true,
  () => false,
);
// Skips without Redis, except under CI (or TFPIPE_REQUIRE_SERVICES=1), where that fails the file.
const noRedis = skipWithout('Redis', reachable, `no Redis at ${REDIS}`);
if (!reachable) {
  console.warn(`SKIPPING the queue tests: no Redis at ${REDIS} (start one: redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes)`);
}

const QUADRATIC = `${fileURLToPath(new URL('./__fixtures__/quadratic-runner.ts', import.meta.url))}#runTrial`;
const PREFIX = `tfpipe-test-${process.pid}-${Date.now().toString(36)}`;
const base = { name: 'quad', seed: 3, objective: { x: 0, y: 2 }, work: { ms: 0, alwaysFail: false, failAttempts: 0 } };
/** A folder where every start of a sweep's trials is also recorded (the workers run trials in scratch folders of their own). */
const newJournal = () => mkdtemp(join(tmpdir(), 'tfpipe-queue-journal-'));
const fast = { noWorkerTimeoutSeconds: 20, pollMs: 100 };

interface SpawnedWorker {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Its own scratch folder: no path in common with the coordinator's sweep folders. */
  scratch: string;
  /** Everything it printed so far. */
  output: () => string;
}

/** A real worker process running the package's worker entry, as `pipeline worker` will, in an empty folder of its own. */
async function spawnWorker(name: string, { prefix = PREFIX, env = {} as NodeJS.ProcessEnv, extra = [] as string[] } = {}): Promise<SpawnedWorker> {
  const entry = workerEntryPath();
  const scratch = await mkdtemp(join(tmpdir(), `tfpipe-worker-${name}-`));
  const args = ['worker', '--queue', REDIS, '--prefix', prefix, '--runner', QUADRATIC, '--name', name, '--scratch', scratch, '--keep-scratch'];
  // Short enough to keep the test quick, long enough that a loaded 2-core machine does not lose locks.
  args.push('--lock-duration', '3000', '--stalled-interval', '1000', '--poll-ms', '150', '--chunk-bytes', '65536', ...extra);
  const proc = spawn(process.execPath, [...childExecArgv(entry), entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(`worker ${name} ready`)) resolve({ name, proc, pid: proc.pid!, scratch, output: () => out });
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    proc.on('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${out}`)));
  });
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const exists = (p: string) => access(p).then(() => true, () => false);

/** Keys of this test's Redis prefix that hold uploads. */
async function uploadKeys(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS);
  try {
    return (await redis.keys(`${prefix}:sweep:*:upload*`)).sort();
  } finally {
    await redis.quit();
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
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
    const JOURNAL = await newJournal();
    const [w1, w2] = workers as [SpawnedWorker, SpawnedWorker];
    // No trial finishes before the release file exists, so w1 is still inside its trial when it is killed,
    // however slow the machine (a fixed duration let a loaded machine's w1 finish first).
    const release = join(JOURNAL, 'release');
    const sweep = runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: { ...base, work: { ...base.work, untilFile: release, journal: JOURNAL } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0, 0.3, 0.6] }, retries: { attempts: 2, backoffMs: 100 }, timeoutSeconds: 80 },
      sweepDir,
    });
    sweep.catch(() => {});
    // Wait until w1 is inside a trial (its trial child has written a start), then kill it hard.
    const victim = await waitFor('w1 to start a trial', async () => {
      for (const id of ['trial-000', 'trial-001', 'trial-002']) {
        const starts = await readJsonLines<{ ppid: number }>(join(JOURNAL, `${id}.jsonl`)).catch(() => []);
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
    const starts = await readJsonLines<{ ppid: number }>(join(JOURNAL, `${victim}.jsonl`));
    expect(starts.map((s) => s.ppid)).toEqual([w1.pid, w2.pid]);
    // The coordinator's folder holds what w2 uploaded: its own start only, and the result.
    const collected = await readJsonLines<{ ppid: number }>(join(sweepDir, 'trials', victim, 'starts.jsonl'));
    expect(collected.map((s) => s.ppid)).toEqual([w2.pid]);
    expect(summary.best?.params).toEqual({ 'objective.x': 0.3 });
    // The summary is in Redis too, and the workers' results agree with it.
    const fromRedis = await sweepStatus({ connection: REDIS, prefix: PREFIX, sweepId: summary.id });
    expect(fromRedis.trials.map((r) => [r.id, r.status, r.metric])).toEqual(summary.trials.map((r) => [r.id, r.status, r.metric]));
    const fromDir = await sweepStatus(sweepDir);
    expect(fromDir.best).toEqual(summary.best);
  });

  it('six trials on two workers that share no folder with the coordinator: every trial’s files are collected, checked, and the best model', async () => {
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const summary = await runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      // 200 kB of seeded bytes per trial: four chunks of 64 kB each.
      config: { ...base, work: { ...base.work, bytes: 200_000, model: true, journal: await newJournal() } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [-0.3, 0, 0.2, 0.3, 0.5, 0.9] }, retries: { attempts: 2, backoffMs: 100 } },
      sweepDir,
    });
    expect(summary.status).toBe('completed');
    expect(summary.trials.map((r) => r.status)).toEqual(Array(6).fill('completed'));
    for (const w of workers.slice(1)) expect(sweepDir.startsWith(w.scratch) || w.scratch.startsWith(sweepDir)).toBe(false);
    for (const r of summary.trials) {
      const dir = join(sweepDir, 'trials', r.id);
      const x = r.params['objective.x'] as number;
      expect(Number(await readFile(join(dir, 'score.txt'), 'utf8'))).toBeCloseTo(score(x, 2), 12);
      const bin = await readFile(join(dir, 'data.bin'));
      expect(sha256(bin)).toBe(sha256(seededBytes(r.seed, 200_000)));
      const result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as { status: string; runDir: string; worker: string };
      // result.json names the coordinator's folder, not the worker's scratch.
      expect(result).toMatchObject({ status: 'completed', runDir: join(dir, 'run') });
      expect(['w2', 'w3']).toContain(result.worker);
      for (const f of ['trial.json', 'started.json', 'trial.log', 'starts.jsonl']) expect(await exists(join(dir, f))).toBe(true);
      // Only the best trial keeps its model folder (models: best).
      expect(await exists(join(dir, 'run', 'model', 'weights.bin'))).toBe(r.id === summary.best?.trials[0]);
    }
    expect(summary.best?.params).toEqual({ 'objective.x': 0.3 });
    expect(await readFile(join(sweepDir, 'trials', summary.best!.trials[0]!, 'run', 'model', 'weights.bin'), 'utf8')).toBe(`${score(0.3, 2)}\n`);
    // Nothing half-collected, and every upload deleted from Redis once collected.
    expect((await readdir(join(sweepDir, 'trials'))).sort()).toEqual(summary.trials.map((r) => r.id).sort());
    expect(await uploadKeys(PREFIX)).toEqual([]);
  });

  it('a worker SIGKILLed mid-upload leaves nothing half-collected: the trial runs again elsewhere and its files arrive whole', async () => {
    const prefix = `${PREFIX}-upload`;
    const journal = await newJournal();
    // w4 stops after the first chunk of its first upload (a failpoint) and says so; w5 starts only after that.
    const w4 = await spawnWorker('w4', { prefix, env: { TFPIPE_FAILPOINT: 'upload-after-first-chunk' } });
    workers.push(w4);
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const sweep = runSweepOnQueue({
      connection: REDIS,
      prefix,
      ...fast,
      config: { ...base, work: { ...base.work, bytes: 300_000, journal } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1, 0.4] }, retries: { attempts: 2, backoffMs: 100 } },
      sweepDir,
    });
    sweep.catch(() => {});
    const victim = await waitFor('w4 to be mid-upload', async () => /failpoint upload-after-first-chunk reached: (trial-\d+)/.exec(w4.output())?.[1]);
    // The chunk is in Redis, uncommitted.
    expect((await uploadKeys(prefix)).length).toBeGreaterThan(0);
    const w5 = await spawnWorker('w5', { prefix });
    workers.push(w5);
    w4.proc.kill('SIGKILL');
    const summary = await sweep;
    expect(summary.trials.map((r) => r.status)).toEqual(['completed', 'completed']);
    const taken = summary.trials.find((r) => r.id === victim)!;
    expect(taken.worker).toBe('w5');
    const starts = await readJsonLines<{ ppid: number }>(join(journal, `${victim}.jsonl`));
    expect(starts.map((s) => s.ppid)).toEqual([w4.pid, w5.pid]);
    for (const r of summary.trials) {
      const dir = join(sweepDir, 'trials', r.id);
      expect(sha256(await readFile(join(dir, 'data.bin')))).toBe(sha256(seededBytes(r.seed, 300_000)));
      expect(Number(await readFile(join(dir, 'score.txt'), 'utf8'))).toBeCloseTo(score(r.params['objective.x'] as number, 2), 12);
    }
    expect((await readdir(join(sweepDir, 'trials'))).sort()).toEqual(['trial-000', 'trial-001']);
    // The dead worker's chunks were deleted at the end too.
    expect(await uploadKeys(prefix)).toEqual([]);
  });

  it('a worker bound to one sweep with --exit-when-done ends with it (a Kubernetes worker pool), and one started later exits at once', async () => {
    const prefix = `${PREFIX}-pool`;
    const sweepDir = join(await mkdtemp(join(tmpdir(), 'tfpipe-queue-')), 'pool-sweep-1');
    const exitCode = (w: SpawnedWorker) => new Promise<number | null>((r) => (w.proc.exitCode !== null ? r(w.proc.exitCode) : w.proc.once('exit', (c) => r(c))));
    const pool = await spawnWorker('p1', { prefix, extra: ['--sweep', 'pool-sweep-1', '--exit-when-done'] });
    workers.push(pool);
    const ended = exitCode(pool);
    const summary = await runSweepOnQueue({
      connection: REDIS,
      prefix,
      ...fast,
      config: base,
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1, 0.5] } },
      sweepDir,
    });
    expect(summary.trials.map((r) => [r.status, r.worker])).toEqual([
      ['completed', 'p1'],
      ['completed', 'p1'],
    ]);
    expect(await ended).toBe(0);
    expect(pool.output()).toMatch(/sweep pool-sweep-1 has ended; stopping/);
    const late = await spawnWorker('p2', { prefix, extra: ['--sweep', 'pool-sweep-1', '--exit-when-done'] }).catch((e: Error) => e);
    // It may end before or after saying it is ready; either way it ends by itself, with 0.
    if (late instanceof Error) expect(late.message).toMatch(/worker p2 exited with 0/);
    else {
      workers.push(late);
      const code = await exitCode(late);
      expect(code, late.output()).toBe(0);
    }
  });

  it('retries a failing trial, and fails the sweep clearly when retries run out', async () => {
    const retried = await runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: { ...base, work: { ...base.work, failAttempts: 1, journal: await newJournal() } },
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.3] }, retries: { attempts: 2, backoffMs: 50 } },
      sweepDir: await mkdtemp(join(tmpdir(), 'tfpipe-queue-')),
    });
    expect(retried.trials[0]).toMatchObject({ status: 'completed', attempts: 2 });

    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const JOURNAL = await newJournal();
    await expect(
      runSweepOnQueue({
        connection: REDIS,
        prefix: PREFIX,
        ...fast,
        config: { ...base, work: { ...base.work, alwaysFail: true, journal: JOURNAL } },
        sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.5] }, retries: { attempts: 3, backoffMs: 50 } },
        sweepDir,
      }),
    ).rejects.toThrow(/trial trial-000 failed after 3 attempt\(s\): objective failed on purpose at x=0.5/);
    const starts = await readJsonLines(join(JOURNAL, 'trial-000.jsonl'));
    expect(starts).toHaveLength(3);
    // The last try's files came back: its log and its failed result.
    const result = JSON.parse(await readFile(join(sweepDir, 'trials', 'trial-000', 'result.json'), 'utf8')) as { status: string; attempts: number };
    expect(result).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('a failed sweep removes its jobs, and a worker stops the trial it can no longer report', async () => {
    // Two live workers, so that both trials run at once (w1 was killed above).
    workers.push(await spawnWorker('w3'));
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-queue-'));
    const journal = await newJournal();
    const failing = runSweepOnQueue({
      connection: REDIS,
      prefix: PREFIX,
      ...fast,
      config: { ...base, work: { ...base.work, journal } },
      sweep: {
        metric: 'score',
        direction: 'max',
        // trial-000 sleeps a minute; trial-001 fails, with no retry, as soon as trial-000 has started (so that
        // there is a running trial to stop, however slow the machine is).
        parameters: { work: [{ ms: 60_000, journal }, { ms: 0, alwaysFail: true, afterStartOf: 'trial-000', journal }] },
        retries: { attempts: 1, backoffMs: 0 },
      },
      sweepDir,
    });
    await expect(failing).rejects.toThrow(/trial trial-001 failed after 1 attempt/);
    // Whichever worker ran trial-000 stopped it; its result stays in that worker's scratch folder (nobody collects it).
    const result = await waitFor('trial-000 to be stopped', async () => {
      for (const w of workers) {
        const text = await readFile(join(w.scratch, basename(sweepDir), 'trials', 'trial-000', 'result.json'), 'utf8').catch(() => undefined);
        if (text) return JSON.parse(text) as { status: string; error: string };
      }
      return undefined;
    });
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

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '@tfpipe/core';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { artifactKind, listFiles, uploadArtifact } from './artifacts.js';
import { TrialProcessPool } from './child.js';
import { openChunkStore } from './chunk-store.js';
import { executeTrial, trialDir } from './harness.js';
import { SAFE_ID, type TrialJobData, type WorkerResult, parseUntrusted, trialJobSchema } from './job-schema.js';
import { DEFAULT_PREFIX, type RedisConnection, bullConnection, pingRedis, queueName, redisOptions, sweepKeys } from './queue-shared.js';
import { RedisWatch } from './redis-watch.js';
import type { RunnerRef, TrialResult, TrialRunner } from './types.js';

export interface StartWorkerOptions {
  connection: RedisConnection;
  /** A sweep id: work on that sweep only. Without it, the worker takes trials of every sweep queued. */
  queue?: string;
  /** A module reference runs each trial in a fresh child process (recommended); a function runs in-process. */
  runner: RunnerRef | TrialRunner;
  /** Trials at once, per sweep (default 1). */
  concurrency?: number;
  prefix?: string;
  /** Shown in results (`worker`); defaults to `<host>:<pid>`. */
  name?: string;
  /** How long a trial's lock lasts without renewal before another worker may take it over (ms, default 30000). */
  lockDuration?: number;
  /** How often this worker looks for stalled trials of dead workers (ms, default 30000). */
  stalledInterval?: number;
  /** How often a worker without `queue` looks for new sweeps (ms, default 1000). */
  pollMs?: number;
  execArgv?: string[];
  logger?: Logger;
  /**
   * A local folder where trials run (`<scratch>/<sweep id>/trials/<trial id>`); their files are uploaded
   * through Redis, then deleted here. Default: a fresh folder in the system's temp folder.
   */
  scratchDir?: string;
  /** Keep each trial's files in the scratch folder after uploading them (default false). */
  keepScratch?: boolean;
  /** Give up (close, `closed` rejects) when Redis has been unreachable this long (s, default 60). */
  redisTimeoutSeconds?: number;
  /** Size of the chunks uploads are cut into (bytes, default 1 MiB). */
  chunkBytes?: number;
  /**
   * With `queue`: close (and resolve `closed`) once that sweep has ended: it left the sweeps set after being in
   * it, or its summary in Redis says it ended. For worker pools that should finish with their sweep (a
   * Kubernetes Job); not for halving, whose sweep leaves the set between rungs.
   */
  exitWhenDone?: boolean;
}

export interface WorkerHandle {
  name: string;
  /** The local folder trials run in. */
  scratchDir: string;
  /** Sweep ids this worker is attached to now. */
  sweeps(): string[];
  /** Stops taking trials, waits for the running ones, disconnects. */
  close(): Promise<void>;
  /** Resolves once closed; rejects (E_IO, naming Redis and the limit) if the worker gave up on a lost Redis. */
  closed: Promise<void>;
}

/** Whether `value` is at least as good as `best` in `direction`. */
function atLeastAsGood(value: number, best: number, direction: 'max' | 'min'): boolean {
  return direction === 'max' ? value >= best : value <= best;
}

/**
 * Starts a queue worker: it pulls trials from Redis, runs each in a local scratch folder, and uploads the
 * trial's files (and its model folder, for the best trial so far or when the sweep asks for all) through
 * Redis for the coordinator to collect. It needs no folder in common with the coordinator. A worker that
 * dies mid-trial or mid-upload loses its lock, and another worker's stalled check puts the trial back in the
 * queue. A worker that loses Redis for longer than `redisTimeoutSeconds` stops, and `closed` says why.
 */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  await pingRedis(options.connection);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const logger = options.logger ?? silentLogger;
  const scratch = options.scratchDir ? resolve(options.scratchDir) : await mkdtemp(join(tmpdir(), 'tfpipe-worker-'));
  await mkdir(scratch, { recursive: true });
  const redis = new Redis(redisOptions(options.connection));
  redis.on('error', () => {});
  const watch = new RedisWatch({ connection: options.connection, downTimeoutMs: (options.redisTimeoutSeconds ?? 60) * 1000, who: `worker ${name}`, logger });
  const guard = <T>(p: Promise<T>) => watch.guard(p);
  const workers = new Map<string, Worker>();
  const stop = new AbortController();
  // Trials run in child processes kept between trials; they exit with this worker (even on SIGKILL).
  const pool = typeof options.runner === 'string' ? new TrialProcessPool(options.runner, options.execArgv) : undefined;

  /** Uploads what a trial left in its scratch folder; returns the manifests to report. */
  const upload = async (data: TrialJobData, result: TrialResult, runDir: string, attempt: number, signal: AbortSignal) => {
    const keys = sweepKeys(prefix, data.sweepId);
    const store = await openChunkStore(data.artifacts, redis, keys, data.sweepId);
    const files = await listFiles(runDir);
    const label = `${data.trial.id}.${attempt}`;
    const common = { store, root: runDir, label, signal, guard, ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) };
    const manifests = [await uploadArtifact({ ...common, kind: 'results', files: files.filter((f) => artifactKind(f) === 'results') })];
    const models = files.filter((f) => artifactKind(f) === 'model');
    if (models.length && result.status === 'completed' && data.models !== 'none') {
      const value = result.metrics[data.metric];
      const best = data.models === 'best' ? await guard(redis.get(keys.best)) : null;
      const wanted = data.models === 'all' || (typeof value === 'number' && (best === null || atLeastAsGood(value, Number(best), data.direction)));
      if (wanted) manifests.push(await uploadArtifact({ ...common, kind: 'model', files: models }));
    }
    return manifests;
  };

  // Three parameters: BullMQ then passes a per-job signal, aborted by `cancelJob` below.
  const processor = async (job: Job<unknown, WorkerResult>, _token?: string, jobSignal?: AbortSignal): Promise<WorkerResult> => {
    let data: TrialJobData;
    try {
      data = parseUntrusted(trialJobSchema, job.data, `job ${job.id}`);
    } catch (e) {
      logger.warn(`${name}: ${(e as Error).message}`);
      throw new UnrecoverableError((e as Error).message);
    }
    const { trial, sweepId } = data;
    const attempt = job.attemptsMade + 1;
    const signal = jobSignal ? AbortSignal.any([jobSignal, stop.signal]) : stop.signal;
    logger.info(`${name}: ${sweepId}/${trial.id} attempt ${attempt}`);
    const local = join(scratch, sweepId);
    const runDir = trialDir(local, trial.id);
    await rm(runDir, { recursive: true, force: true });
    let result: WorkerResult =
      typeof options.runner === 'function'
        ? await executeTrial(trial, { sweepDir: local, runner: options.runner, worker: name, attempt, signal })
        : await pool!.acquire().run(trial, { sweepDir: local, worker: name, attempt, signal });
    const last = attempt >= (job.opts.attempts ?? 1);
    try {
      if (result.status === 'completed' || last) {
        result = { ...result, artifacts: await upload(data, result, runDir, attempt, signal) };
        await guard(redis.hset(sweepKeys(prefix, sweepId).results, trial.id, JSON.stringify(result)));
      }
    } finally {
      if (!options.keepScratch) await rm(runDir, { recursive: true, force: true });
    }
    if (result.status === 'failed') throw new Error(result.error ?? 'the trial failed');
    return result;
  };

  const attach = (sweepId: string) => {
    if (workers.has(sweepId)) return;
    if (!SAFE_ID.test(sweepId)) {
      logger.warn(`${name}: ignoring sweep id ${JSON.stringify(sweepId).slice(0, 140)} read from Redis: expected letters, digits, ".", "_" or "-"`);
      return;
    }
    const w = new Worker<unknown, WorkerResult>(queueName(sweepId), processor, {
      connection: bullConnection(options.connection),
      prefix,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: 1,
    });
    // While Redis is away the watch has said so once; BullMQ's own reconnection errors would repeat it.
    w.on('error', (e) => !watch.isDown && logger.warn(`${name}: ${sweepId}: ${e.message}`));
    // The lock is gone (the sweep ended and removed its jobs, or another worker took the trial over):
    // nobody will take this result, so stop the trial.
    w.on('lockRenewalFailed', (ids) => {
      for (const id of ids) w.cancelJob(id, 'lost the lock on this trial');
    });
    workers.set(sweepId, w);
    logger.info(`${name}: attached to sweep ${sweepId}`);
  };
  const detach = async (sweepId: string) => {
    const w = workers.get(sweepId);
    workers.delete(sweepId);
    // Closed while still connecting, a BullMQ worker reports the closed connection as an unhandled error.
    await w?.waitUntilReady().catch(() => {});
    await w?.close();
  };

  let poll: NodeJS.Timeout | undefined;
  let closed = false;
  // With exitWhenDone: the sweep has ended if it left the sweeps set after being in it, or its summary says so.
  let seen = false;
  const sweepEnded = async (): Promise<boolean> => {
    const keys = sweepKeys(prefix, options.queue!);
    const [queued, summary] = await guard(Promise.all([redis.sismember(keys.active, options.queue!), redis.get(keys.summary)]));
    const status = summary ? (JSON.parse(summary) as { status?: string }).status : undefined;
    seen ||= queued === 1;
    return (seen && queued === 0) || (status !== undefined && status !== 'running');
  };
  if (options.queue) {
    // One that ended before this worker started is not attached at all (nothing to take, nothing to close).
    if (!(options.exitWhenDone && (await sweepEnded().catch(() => false)))) attach(options.queue);
  } else {
    const keys = sweepKeys(prefix, '');
    const discover = async () => {
      try {
        const active = new Set(await guard(redis.smembers(keys.active)));
        if (closed) return;
        for (const id of active) attach(id);
        for (const id of [...workers.keys()]) if (!active.has(id)) void detach(id);
      } catch (e) {
        if (!watch.failed) logger.warn(`${name}: cannot list sweeps: ${(e as Error).message}`);
      }
    };
    await discover();
    const loop = () => {
      poll = setTimeout(() => void discover().then(() => !closed && loop()), options.pollMs ?? 1000);
    };
    loop();
  }

  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  done.catch(() => {});
  const close = async (force = false) => {
    if (closed) return;
    closed = true;
    if (poll) clearTimeout(poll);
    if (force) stop.abort(new Error('the worker lost Redis'));
    await Promise.all(
      [...workers.entries()].map(async ([id, w]) => {
        workers.delete(id);
        // A BullMQ worker closed while it still connects reports the closed connection as an unhandled error.
        if (!force) await w.waitUntilReady().catch(() => {});
        await w.close(force);
      }),
    );
    stop.abort(new Error('the worker is closing'));
    await pool?.close();
    watch.close();
    redis.disconnect();
  };
  // Redis gone for longer than allowed: stop the trials (nobody could take their results) and say why.
  watch.lost.catch(async (e: Error) => {
    logger.warn(e.message);
    await close(true).catch(() => {});
    fail(e);
  });

  // A worker bound to one sweep that must end with it: checked every pollMs (and once before attaching, above).
  if (options.queue && options.exitWhenDone) {
    const check = async () => {
      try {
        if (await sweepEnded()) {
          logger.info(`${name}: sweep ${options.queue} has ended; stopping`);
          await close();
          finish();
          return;
        }
      } catch (e) {
        if (!watch.failed) logger.warn(`${name}: cannot read the state of sweep ${options.queue}: ${(e as Error).message}`);
      }
      if (!closed) poll = setTimeout(() => void check(), options.pollMs ?? 1000);
    };
    await check();
  }

  return {
    name,
    scratchDir: scratch,
    sweeps: () => [...workers.keys()],
    async close() {
      await close();
      finish();
    },
    closed: done,
  };
}

import { hostname } from 'node:os';
import { silentLogger, type Logger } from '@tfpipe/core';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { TrialProcessPool } from './child.js';
import { executeTrial } from './harness.js';
import {
  DEFAULT_PREFIX,
  type RedisConnection,
  type TrialJobData,
  bullConnection,
  pingRedis,
  queueName,
  redisOptions,
  sweepKeys,
} from './queue-shared.js';
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
}

export interface WorkerHandle {
  name: string;
  /** Sweep ids this worker is attached to now. */
  sweeps(): string[];
  /** Stops taking trials, waits for the running ones, disconnects. */
  close(): Promise<void>;
}

/**
 * Starts a queue worker: it pulls trials from Redis, runs them, records results in the shared sweep
 * directory and in Redis. A worker that dies mid-trial loses its lock, and another worker's stalled
 * check puts the trial back in the queue.
 */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  await pingRedis(options.connection);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const logger = options.logger ?? silentLogger;
  const redis = new Redis(redisOptions(options.connection));
  redis.on('error', () => {});
  const workers = new Map<string, Worker>();
  const stop = new AbortController();
  // Trials run in child processes kept between trials; they exit with this worker (even on SIGKILL).
  const pool = typeof options.runner === 'string' ? new TrialProcessPool(options.runner, options.execArgv) : undefined;

  // Three parameters: BullMQ then passes a per-job signal, aborted by `cancelJob` below.
  const processor = async (job: Job<TrialJobData, TrialResult>, _token?: string, jobSignal?: AbortSignal): Promise<TrialResult> => {
    const { trial, sweepDir, sweepId } = job.data;
    const attempt = job.attemptsMade + 1;
    const signal = jobSignal ? AbortSignal.any([jobSignal, stop.signal]) : stop.signal;
    logger.info(`${name}: ${sweepId}/${trial.id} attempt ${attempt}`);
    const result =
      typeof options.runner === 'function'
        ? await executeTrial(trial, { sweepDir, runner: options.runner, worker: name, attempt, signal })
        : await pool!.acquire().run(trial, { sweepDir, worker: name, attempt, signal });
    const last = attempt >= (job.opts.attempts ?? 1);
    if (result.status === 'completed' || last) {
      await redis.hset(sweepKeys(prefix, sweepId).results, trial.id, JSON.stringify(result));
    }
    if (result.status === 'failed') throw new Error(result.error ?? 'the trial failed');
    return result;
  };

  const attach = (sweepId: string) => {
    if (workers.has(sweepId)) return;
    const w = new Worker<TrialJobData, TrialResult>(queueName(sweepId), processor, {
      connection: bullConnection(options.connection),
      prefix,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: 1,
    });
    w.on('error', (e) => logger.warn(`${name}: ${sweepId}: ${e.message}`));
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
    await w?.close();
  };

  let poll: NodeJS.Timeout | undefined;
  let closed = false;
  if (options.queue) attach(options.queue);
  else {
    const keys = sweepKeys(prefix, '');
    const discover = async () => {
      try {
        const active = new Set(await redis.smembers(keys.active));
        if (closed) return;
        for (const id of active) attach(id);
        for (const id of [...workers.keys()]) if (!active.has(id)) void detach(id);
      } catch (e) {
        logger.warn(`${name}: cannot list sweeps: ${(e as Error).message}`);
      }
    };
    await discover();
    const loop = () => {
      poll = setTimeout(() => void discover().then(() => !closed && loop()), options.pollMs ?? 1000);
    };
    loop();
  }

  return {
    name,
    sweeps: () => [...workers.keys()],
    async close() {
      closed = true;
      if (poll) clearTimeout(poll);
      await Promise.all([...workers.keys()].map(detach));
      stop.abort(new Error('the worker is closing'));
      await pool?.close();
      redis.disconnect();
    },
  };
}

import { TfpipeError } from '@tfpipe/core';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  DEFAULT_PREFIX,
  type RedisConnection,
  type TrialJobData,
  bullConnection,
  describeConnection,
  pingRedis,
  queueName,
  redisOptions,
  sweepKeys,
} from './queue-shared.js';
import { overlayResults } from './status.js';
import { type RunSweepOptions, runSweep } from './sweep.js';
import { resolveSweep } from './sweep-schema.js';
import type { SweepSummary } from './summary.js';
import type { Executor, ExecutorRunOptions, Trial, TrialResult } from './types.js';
import { sleep } from './_sleep.js';

export interface QueueExecutorOptions {
  connection: RedisConnection;
  prefix?: string;
  /** Tries per trial, the first included (default 2). */
  attempts?: number;
  /** Delay before a retry (ms, doubles each time; default 1000). */
  backoffMs?: number;
  /** How often the parent looks at the queue (ms, default 250). */
  pollMs?: number;
  /**
   * Fail when no worker has listened on the sweep's queue for this long while trials wait (s, default
   * 120): a sweep with no workers fails with a message, it does not wait forever.
   */
  noWorkerTimeoutSeconds?: number;
  /** Keep the BullMQ jobs in Redis after the sweep (default false: results stay in sweep.json and the summary key). */
  keepJobs?: boolean;
}

/** The result of a job that exhausted its attempts, from the worker's record or from BullMQ's. */
function failedResult(job: Job<TrialJobData>, recorded: string | null, runDir: string): TrialResult {
  if (recorded) {
    const r = JSON.parse(recorded) as TrialResult;
    if (r.status === 'failed') return { ...r, attempts: Math.max(r.attempts, job.attemptsMade) };
  }
  return {
    id: job.data.trial.id,
    index: job.data.trial.index,
    status: 'failed',
    metrics: {},
    runDir,
    durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0,
    attempts: job.attemptsMade,
    error: job.failedReason || 'the trial failed',
    ...(job.processedBy ? { worker: job.processedBy } : {}),
  };
}

/**
 * Puts trials on a BullMQ queue (one per sweep id) in Redis and yields results as workers finish them.
 * Workers (`startWorker`, any number of machines) must see the same sweep directory.
 */
export function createQueueExecutor(options: QueueExecutorOptions): Executor {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  return {
    kind: 'bullmq',
    async *run(trials: readonly Trial[], run: ExecutorRunOptions): AsyncIterable<TrialResult> {
      await pingRedis(options.connection);
      const keys = sweepKeys(prefix, run.sweepId);
      const name = queueName(run.sweepId);
      const queue = new Queue<TrialJobData, TrialResult>(name, { connection: bullConnection(options.connection), prefix });
      queue.on('error', () => {});
      const redis = new Redis(redisOptions(options.connection));
      redis.on('error', () => {});
      const byId = new Map(trials.map((t) => [t.id, t]));
      const left = new Set(byId.keys());
      const started = new Set<string>();
      try {
        await queue.addBulk(
          trials.map((trial) => ({
            name: trial.id,
            data: { trial, sweepDir: run.sweepDir, sweepId: run.sweepId },
            opts: {
              jobId: trial.id,
              attempts: options.attempts ?? 2,
              backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
              removeOnComplete: false,
              removeOnFail: false,
            },
          })),
        );
        await redis.sadd(keys.active, run.sweepId);
        run.logger?.info(`queued ${trials.length} trial(s) on ${describeConnection(options.connection)} queue ${name}`);
        let lastSeenWorker = Date.now();
        while (left.size) {
          if (run.signal?.aborted) return;
          const [active, completed, failed] = await Promise.all([
            queue.getJobs(['active']),
            queue.getJobs(['completed']),
            queue.getJobs(['failed']),
          ]);
          for (const job of active) {
            if (job?.id && left.has(job.id) && !started.has(job.id)) {
              started.add(job.id);
              run.onStart?.(byId.get(job.id)!, job.processedBy ?? 'queue');
            }
          }
          for (const job of completed) {
            if (!job?.id || !left.has(job.id)) continue;
            left.delete(job.id);
            yield job.returnvalue as TrialResult;
          }
          for (const job of failed) {
            if (!job?.id || !left.has(job.id)) continue;
            left.delete(job.id);
            const recorded = await redis.hget(keys.results, job.id);
            yield failedResult(job, recorded, `${run.sweepDir}/trials/${job.id}`);
          }
          if (!left.size) break;
          if (active.length || (await queue.getWorkersCount()) > 0) lastSeenWorker = Date.now();
          else if (Date.now() - lastSeenWorker > (options.noWorkerTimeoutSeconds ?? 120) * 1000) {
            throw new TfpipeError(
              'E_USAGE',
              `no worker has listened on queue ${name} at ${describeConnection(options.connection)} for ${options.noWorkerTimeoutSeconds ?? 120} s; ${left.size} trial(s) are waiting`,
              { hint: `Start one or more workers: pipeline worker --queue ${describeConnection(options.connection)}` },
            );
          }
          await sleep(options.pollMs ?? 250, run.signal);
        }
      } finally {
        await redis.srem(keys.active, run.sweepId).catch(() => {});
        if (!options.keepJobs) await queue.obliterate({ force: true }).catch(() => {});
        await queue.close().catch(() => {});
        redis.disconnect();
      }
    },
  };
}

export interface RunSweepOnQueueOptions extends Omit<RunSweepOptions, 'executor'>, QueueExecutorOptions {}

/**
 * `pipeline sweep config.yaml --queue redis://…`: runs the sweep through Redis. Retries come from
 * `sweep.retries`; the summary is kept in Redis too (`<prefix>:sweep:<id>:summary`) for `sweepStatus`.
 */
export async function runSweepOnQueue(options: RunSweepOnQueueOptions): Promise<SweepSummary> {
  await pingRedis(options.connection);
  const sweep = resolveSweep(options.config, options.sweep);
  const executor = createQueueExecutor({
    ...options,
    attempts: options.attempts ?? sweep.retries.attempts,
    backoffMs: options.backoffMs ?? sweep.retries.backoffMs,
  });
  const redis = new Redis(redisOptions(options.connection));
  redis.on('error', () => {});
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  try {
    return await runSweep({
      ...options,
      sweep,
      executor,
      onUpdate: async (summary) => {
        await redis.set(sweepKeys(prefix, summary.id).summary, JSON.stringify(summary));
        await options.onUpdate?.(summary);
      },
    });
  } finally {
    redis.disconnect();
  }
}

/** The state of a sweep from Redis: the parent's summary, brought up to date with the workers' results. */
export async function sweepStatusFromRedis(options: { connection: RedisConnection; sweepId: string; prefix?: string }): Promise<SweepSummary> {
  await pingRedis(options.connection);
  const keys = sweepKeys(options.prefix ?? DEFAULT_PREFIX, options.sweepId);
  const redis = new Redis(redisOptions(options.connection));
  redis.on('error', () => {});
  try {
    const text = await redis.get(keys.summary);
    if (!text) {
      throw new TfpipeError('E_USAGE', `Redis at ${describeConnection(options.connection)} has no sweep "${options.sweepId}"`, {
        hint: 'Pass the sweep id printed by `pipeline sweep --queue`, or the sweep directory.',
      });
    }
    const results = new Map(Object.entries(await redis.hgetall(keys.results)).map(([k, v]) => [k, JSON.parse(v) as TrialResult]));
    return overlayResults(JSON.parse(text) as SweepSummary, results);
  } finally {
    redis.disconnect();
  }
}

import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TfpipeError, isTfpipeError, writeJsonAtomic } from '@tfpipe/core';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { downloadArtifact, moveIntoPlace, removeModelDirs, stagingDir } from './artifacts.js';
import { openChunkStore, parseS3Location } from './chunk-store.js';
import { TRIAL_FILES, trialDir } from './harness.js';
import {
  type ModelUpload,
  type TrialJobData,
  type WorkerResult,
  checkSweepId,
  parseUntrusted,
  parseJsonFromRedis,
  relativePathSchema,
  trialResultSchema,
} from './job-schema.js';
import { DEFAULT_PREFIX, type RedisConnection, bullConnection, describeConnection, pingRedis, queueName, redisOptions, sweepKeys } from './queue-shared.js';
import { RedisWatch } from './redis-watch.js';
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
  /**
   * Fail when Redis has been unreachable for this long (s, default 60). Shorter outages are waited out: the
   * sweep goes on, and puts back any trial a restarted Redis forgot.
   */
  redisTimeoutSeconds?: number;
  /** Which trials' model folders come back from the workers (default `best`: the best trial's, by the sweep metric). */
  models?: ModelUpload;
  /**
   * Where workers put trial files: `redis` (default) or an S3-compatible bucket, `s3://bucket/prefix` (credentials,
   * region and endpoint from the usual AWS environment variables, on the coordinator and every worker).
   */
  artifacts?: string;
  /** Keep the BullMQ jobs in Redis after the sweep (default false: results stay in sweep.json and the summary key). */
  keepJobs?: boolean;
}

/** The worker's result without its manifests, with its run folder moved to the coordinator's trial folder. */
function localResult(result: WorkerResult, target: string): TrialResult {
  const { artifacts: _, ...rest } = result;
  // The runner's run folder, relative to the worker's trial folder (`<scratch>/<sweep>/trials/<id>/run` → `run`).
  const marker = `/trials/${result.id}`;
  const at = result.runDir.lastIndexOf(marker);
  const tail = at >= 0 ? result.runDir.slice(at + marker.length).replace(/^\/+/, '') : '';
  const runDir = tail && relativePathSchema.safeParse(tail).success ? join(target, ...tail.split('/')) : target;
  return { ...rest, runDir };
}

/** Whether `value` is at least as good as `best` in `direction`. */
const atLeastAsGood = (value: number, best: number, direction: 'max' | 'min') => (direction === 'max' ? value >= best : value <= best);

/**
 * Puts trials on a BullMQ queue (one per sweep id) in Redis and yields results as workers finish them. Each
 * trial's config travels in its job; workers upload its files through Redis and this executor collects them
 * into `<sweepDir>/trials/<id>` (checked, then moved into place whole). Workers need no shared folder.
 */
export function createQueueExecutor(options: QueueExecutorOptions): Executor {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const models = options.models ?? 'best';
  const artifacts = options.artifacts ?? 'redis';
  if (artifacts !== 'redis') parseS3Location(artifacts);
  const attempts = options.attempts ?? 2;
  // The best trial whose model was collected, across the rungs of a halving sweep.
  let best: { id: string; value: number } | undefined;
  return {
    kind: 'bullmq',
    async *run(trials: readonly Trial[], run: ExecutorRunOptions): AsyncIterable<TrialResult> {
      await pingRedis(options.connection);
      checkSweepId(run.sweepId);
      const keys = sweepKeys(prefix, run.sweepId);
      const name = queueName(run.sweepId);
      const address = describeConnection(options.connection);
      const queue = new Queue<TrialJobData, WorkerResult>(name, { connection: bullConnection(options.connection), prefix });
      queue.on('error', () => {});
      const redis = new Redis(redisOptions(options.connection));
      redis.on('error', () => {});
      const store = await openChunkStore(artifacts, redis, keys, run.sweepId);
      const watch = new RedisWatch({
        connection: options.connection,
        downTimeoutMs: (options.redisTimeoutSeconds ?? 60) * 1000,
        who: `the sweep ${run.sweepId}`,
        ...(run.logger ? { logger: run.logger } : {}),
      });
      const guard = <T>(p: Promise<T>) => watch.guard(p);
      const byId = new Map(trials.map((t) => [t.id, t]));
      /** A failed trial's result, with no metrics. */
      const failedTrial = (id: string, attempts: number, error: string, durationMs = 0): TrialResult => ({
        id,
        index: byId.get(id)!.index,
        status: 'failed',
        metrics: {},
        runDir: trialDir(run.sweepDir, id),
        durationMs,
        attempts,
        error,
      });
      const left = new Set(byId.keys());
      const started = new Set<string>();
      /** Attempts spent on jobs that were put back because their files could not be collected. */
      const spent = new Map<string, number>();
      const job = (trial: Trial) => ({
        name: trial.id,
        data: { trial, sweepId: run.sweepId, metric: run.metric ?? '', direction: run.direction ?? 'max', models, artifacts } satisfies TrialJobData,
        opts: {
          jobId: trial.id,
          attempts: attempts - (spent.get(trial.id) ?? 0),
          backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      });
      // Jobs already there are left alone (same job id): this also puts back what a restarted Redis forgot.
      const enqueue = async () => {
        await guard(queue.addBulk([...left].map((id) => job(byId.get(id)!))));
        await guard(redis.sadd(keys.active, run.sweepId));
      };

      /** Downloads a result's artifacts into a staging folder, checks them, moves them into the trial folder. */
      const collect = async (result: WorkerResult): Promise<TrialResult> => {
        const target = trialDir(run.sweepDir, result.id);
        const staging = await stagingDir(target);
        const value = result.metrics[run.metric ?? ''];
        const keepModel =
          result.status === 'completed' &&
          (models === 'all' || (models === 'best' && typeof value === 'number' && (!best || atLeastAsGood(value, best.value, run.direction ?? 'max'))));
        try {
          let gotModel = false;
          for (const m of result.artifacts ?? []) {
            if (m.kind === 'model' && !keepModel) continue;
            await guard(downloadArtifact(store, m, staging));
            gotModel ||= m.kind === 'model';
          }
          const local = localResult(result, target);
          await writeJsonAtomic(join(staging, TRIAL_FILES.result), local);
          await moveIntoPlace(staging, target);
          if (gotModel && models === 'best' && typeof value === 'number') {
            if (best && best.id !== result.id && value !== best.value) await removeModelDirs(trialDir(run.sweepDir, best.id));
            if (!best || value !== best.value) best = { id: result.id, value };
            await guard(redis.set(keys.best, String(value)));
          }
          for (const m of result.artifacts ?? []) await guard(store.remove(m.uploadId));
          return local;
        } catch (e) {
          await rm(staging, { recursive: true, force: true });
          throw e;
        }
      };

      /** A completed job whose files could not be collected runs again, if it has tries left. */
      const retryOrFail = async (j: Job<TrialJobData, WorkerResult>, why: string): Promise<TrialResult | undefined> => {
        const id = j.id!;
        const used = (spent.get(id) ?? 0) + Math.max(1, j.attemptsMade);
        spent.set(id, used);
        if (used < attempts) {
          run.logger?.warn(`${id}: ${why}; running it again (attempt ${used + 1} of ${attempts})`);
          await guard(j.remove());
          const again = job(byId.get(id)!);
          await guard(queue.add(again.name, again.data, again.opts));
          started.delete(id);
          return undefined;
        }
        left.delete(id);
        return failedTrial(id, used, why);
      };

      const failedResult = async (j: Job<TrialJobData, WorkerResult>): Promise<TrialResult> => {
        const id = j.id!;
        const attemptsMade = (spent.get(id) ?? 0) + j.attemptsMade;
        const text = await guard(redis.hget(keys.results, id));
        if (text) {
          const recorded = parseJsonFromRedis(trialResultSchema, text, `the result of ${id}`) as WorkerResult;
          if (recorded.status === 'failed' && recorded.id === id) {
            // Its log and result.json, for whoever looks into the failure; the failure itself is the result.
            const local = await collect(recorded).catch((e: Error) => {
              run.logger?.warn(`${id}: cannot collect the failed trial's files: ${e.message}`);
              return localResult(recorded, trialDir(run.sweepDir, id));
            });
            return { ...local, attempts: Math.max(local.attempts, attemptsMade) };
          }
        }
        return {
          ...failedTrial(id, attemptsMade, j.failedReason || 'the trial failed', j.finishedOn && j.processedOn ? j.finishedOn - j.processedOn : 0),
          ...(j.processedBy ? { worker: j.processedBy } : {}),
        };
      };

      try {
        await enqueue();
        run.logger?.info(`queued ${trials.length} trial(s) on ${address} queue ${name}`);
        let lastSeenWorker = Date.now();
        let reconnects = watch.reconnects;
        while (left.size) {
          if (run.signal?.aborted) return;
          if (watch.reconnects !== reconnects) {
            reconnects = watch.reconnects;
            lastSeenWorker = Date.now();
            await enqueue();
            run.logger?.info(`queued again whichever of the ${left.size} unfinished trial(s) Redis no longer had`);
          }
          const [active, completed, failed] = await guard(Promise.all([queue.getJobs(['active']), queue.getJobs(['completed']), queue.getJobs(['failed'])]));
          for (const j of active) {
            if (j?.id && left.has(j.id) && !started.has(j.id)) {
              started.add(j.id);
              run.onStart?.(byId.get(j.id)!, j.processedBy ?? 'queue');
            }
          }
          for (const j of completed) {
            if (!j?.id || !left.has(j.id)) continue;
            let result: WorkerResult;
            try {
              result = parseUntrusted(trialResultSchema, j.returnvalue, `the result of ${j.id}`) as WorkerResult;
              if (result.id !== j.id) throw new TfpipeError('E_DATA', `the result of job ${j.id} names trial ${result.id}`);
            } catch (e) {
              left.delete(j.id);
              yield failedTrial(j.id, j.attemptsMade, (e as Error).message);
              continue;
            }
            let local: TrialResult;
            try {
              local = await collect(result);
            } catch (e) {
              if (!isTfpipeError(e, 'E_DATA')) throw e;
              const failed = await retryOrFail(j, `its files could not be collected (${(e as Error).message})`);
              if (failed) yield failed;
              continue;
            }
            left.delete(j.id);
            yield { ...local, attempts: (spent.get(j.id) ?? 0) + local.attempts };
          }
          for (const j of failed) {
            if (!j?.id || !left.has(j.id)) continue;
            left.delete(j.id);
            yield await failedResult(j);
          }
          if (!left.size) break;
          if (active.length || (await guard(queue.getWorkersCount())) > 0) lastSeenWorker = Date.now();
          else if (Date.now() - lastSeenWorker > (options.noWorkerTimeoutSeconds ?? 120) * 1000) {
            throw new TfpipeError(
              'E_USAGE',
              `no worker has listened on queue ${name} at ${address} for ${options.noWorkerTimeoutSeconds ?? 120} s; ${left.size} trial(s) are waiting`,
              { hint: `Start one or more workers: pipeline worker --queue ${address}` },
            );
          }
          await guard(sleep(options.pollMs ?? 250, run.signal));
        }
      } finally {
        if (watch.failed) {
          // Nothing can be cleaned up in a Redis that is gone; do not wait for it (a client that is between
          // reconnection attempts never reports the end of a disconnect).
          void queue.disconnect().catch(() => {});
        } else {
          await redis.srem(keys.active, run.sweepId).catch(() => {});
          await store.removeAll().catch(() => {});
          await redis.del(keys.best).catch(() => {});
          if (!options.keepJobs) await queue.obliterate({ force: true }).catch(() => {});
          await queue.close().catch(() => {});
        }
        watch.close();
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
  const sweepId = checkSweepId(options.sweepId ?? basename(options.sweepDir));
  const sweep = resolveSweep(options.config, options.sweep);
  const executor = createQueueExecutor({
    ...options,
    attempts: options.attempts ?? sweep.retries.attempts,
    backoffMs: options.backoffMs ?? sweep.retries.backoffMs,
  });
  const redis = new Redis(redisOptions(options.connection));
  redis.on('error', () => {});
  // The copy of the summary in Redis must not hold the sweep up once Redis is given up on (the executor says why).
  const watch = new RedisWatch({ connection: options.connection, downTimeoutMs: (options.redisTimeoutSeconds ?? 60) * 1000, who: `the sweep ${sweepId}` });
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  try {
    return await runSweep({
      ...options,
      sweepId,
      sweep,
      executor,
      onUpdate: async (summary) => {
        if (!watch.failed) await watch.guard(redis.set(sweepKeys(prefix, summary.id).summary, JSON.stringify(summary))).catch(() => {});
        await options.onUpdate?.(summary);
      },
    });
  } finally {
    watch.close();
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
    const results = new Map(
      Object.entries(await redis.hgetall(keys.results)).map(([k, v]) => [k, parseJsonFromRedis(trialResultSchema, v, `the result of ${k}`) as TrialResult]),
    );
    return overlayResults(JSON.parse(text) as SweepSummary, results);
  } finally {
    redis.disconnect();
  }
}

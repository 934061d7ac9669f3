import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TfpipeError, silentLogger, writeFileAtomic, writeJsonAtomic, type Logger } from '@tfpipe/core';
import { expandSweep, sweepSeed } from './expand.js';
import { nextHalvingRung } from './halving.js';
import { plotSweep } from './plot.js';
import { type SweepConfig, type SweepInput, resolveSweep } from './sweep-schema.js';
import { type SweepSummary, refreshSummary, trialRow } from './summary.js';
import type { Executor, Trial, TrialResult } from './types.js';

/** Files in a sweep directory. */
export const SWEEP_FILES = { summary: 'sweep.json', plot: 'sweep.svg', trials: 'trials' } as const;

export interface RunSweepOptions {
  /** The base pipeline config, fully defaulted (sweep paths are checked against it). */
  config: unknown;
  /** `sweep:`; defaults to `config.sweep`. */
  sweep?: SweepInput | SweepConfig;
  /** Where sweep.json, sweep.svg and trials/<id>/ go; all workers must see it for the queue executor. */
  sweepDir: string;
  /** Defaults to the sweep directory's name. */
  sweepId?: string;
  executor: Executor;
  signal?: AbortSignal;
  logger?: Logger;
  /** Called after every change of the summary (a trial started or finished). */
  onUpdate?: (summary: SweepSummary) => void | Promise<void>;
}

/** A sweep id from a name and the time: `iris-sweep-20250101-120000-1a2b`. Safe for files, queues and Kubernetes. */
export function createSweepId(name = 'sweep', now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const rand = Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');
  const safe = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30) || 'sweep';
  return `${safe}-sweep-${stamp}-${rand}`;
}


/** The summary of a sweep before any trial ran: every trial pending. */
export function initialSummary(config: unknown, sweep: SweepConfig, trials: readonly Trial[], sweepId: string, executor: string): SweepSummary {
  return refreshSummary({
    version: 1,
    id: sweepId,
    status: 'running',
    method: sweep.method,
    metric: sweep.metric,
    direction: sweep.direction,
    seed: sweepSeed(config, sweep),
    parameters: sweep.parameters,
    executor,
    startedAt: new Date().toISOString(),
    trials: trials.map((t) => trialRow(t, sweep.metric)),
    points: [],
    ...(sweep.kfold !== undefined ? { kfold: sweep.kfold } : {}),
  });
}

/**
 * Runs a sweep to the end on an executor: expands the trials, runs them (rung after rung for halving),
 * keeps `sweep.json` current (atomically) and draws `sweep.svg`. Rejects with E_TRAIN when a trial fails
 * and `onTrialFailure` is `fail`, and on `timeoutSeconds`; sweep.json then says why.
 */
export async function runSweep(options: RunSweepOptions): Promise<SweepSummary> {
  const sweep = resolveSweep(options.config, options.sweep);
  const logger = options.logger ?? silentLogger;
  const sweepId = options.sweepId ?? basename(options.sweepDir);
  await mkdir(join(options.sweepDir, SWEEP_FILES.trials), { recursive: true });
  let trials: Trial[] = expandSweep(options.config, sweep);
  let summary = initialSummary(options.config, sweep, trials, sweepId, options.executor.kind);
  // Writes are chained so that sweep.json always holds the latest state, never an older one last.
  let writing: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    summary = refreshSummary(summary);
    const snapshot = summary;
    writing = writing.then(async () => {
      await writeJsonAtomic(join(options.sweepDir, SWEEP_FILES.summary), snapshot);
      await options.onUpdate?.(snapshot);
    });
    return writing;
  };
  await save();

  const stop = new AbortController();
  const forward = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', forward, { once: true });
  const timer =
    sweep.timeoutSeconds === undefined
      ? undefined
      : setTimeout(
          () => stop.abort(new TfpipeError('E_TRAIN', `the sweep ran past its timeout of ${sweep.timeoutSeconds} s`, { path: ['sweep', 'timeoutSeconds'] })),
          sweep.timeoutSeconds * 1000,
        );
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(stop.signal.reason instanceof Error ? stop.signal.reason : new TfpipeError('E_TRAIN', 'the sweep was cancelled'));
    if (stop.signal.aborted) fail();
    else stop.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => {});

  const record = (result: TrialResult) => {
    const i = summary.trials.findIndex((r) => r.id === result.id);
    const trial = trials.find((t) => t.id === result.id)!;
    if (result.status === 'completed' && typeof result.metrics[sweep.metric] !== 'number') {
      result = {
        ...result,
        status: 'failed',
        error: `the trial reported metrics ${Object.keys(result.metrics).join(', ') || '(none)'}; sweep.metric "${sweep.metric}" is not among them`,
      };
    }
    summary.trials[i] = trialRow(trial, sweep.metric, result);
    const m = summary.trials[i]!.metric;
    logger.info(`${result.id}: ${result.status}${m !== undefined ? ` ${sweep.metric}=${m.toPrecision(4)}` : ''}${result.error ? ` (${result.error})` : ''}`);
    return result;
  };

  let rung = 0;
  let batch = trials;
  try {
    while (batch.length) {
      const iterator = options.executor
        .run(batch, {
          sweepDir: options.sweepDir,
          sweepId,
          metric: sweep.metric,
          direction: sweep.direction,
          signal: stop.signal,
          logger,
          onStart: (trial) => {
            const row = summary.trials.find((r) => r.id === trial.id);
            if (row && row.status === 'pending') row.status = 'running';
            void save();
          },
        })
        [Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await Promise.race([iterator.next(), aborted]);
          if (next.done) break;
          const result = record(next.value);
          await save();
          if (result.status === 'failed' && sweep.onTrialFailure === 'fail') {
            throw new TfpipeError('E_TRAIN', `trial ${result.id} failed after ${result.attempts} attempt(s): ${result.error}`, {
              path: ['sweep'],
              hint: `See ${join(result.runDir, 'trial.log')}. Set sweep.onTrialFailure: continue to record failures and go on.`,
            });
          }
        }
      } finally {
        // Aborted, the executor may be mid-await; it stops on the signal by itself, so do not wait on it.
        if (stop.signal.aborted) void iterator.return?.()?.catch(() => {});
        else await iterator.return?.();
      }
      if (sweep.method !== 'halving') break;
      const next = nextHalvingRung(options.config, sweep, rung, summary.trials, trials, trials.length);
      if (!next) break;
      rung++;
      trials = [...trials, ...next];
      summary.trials.push(...next.map((t) => trialRow(t, sweep.metric)));
      await save();
      batch = next;
    }
    summary.status = 'completed';
  } catch (e) {
    summary.status = options.signal?.aborted ? 'cancelled' : 'failed';
    summary.error = (e as Error).message;
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
    stop.abort(new Error('the sweep ended'));
    summary.finishedAt = new Date().toISOString();
    await save();
    await writeFileAtomic(join(options.sweepDir, SWEEP_FILES.plot), plotSweep(summary));
  }
  return summary;
}

import { createLocalExecutor } from './local-executor.js';
import type { RedisConnection } from './queue-shared.js';
import { sweepStatusFromRedis } from './queue-executor.js';
import { sweepStatusFromDir } from './status.js';
import { type RunSweepOptions, runSweep } from './sweep.js';
import { resolveSweep } from './sweep-schema.js';
import type { SweepSummary } from './summary.js';
import type { RunnerRef, TrialRunner } from './types.js';

export interface RunSweepLocallyOptions extends Omit<RunSweepOptions, 'executor'> {
  /** A module reference runs each trial in a child process; a function runs in this process. */
  runner: RunnerRef | TrialRunner;
  /** Trials at once; defaults to `sweep.parallel`, else one per core. */
  parallel?: number;
  execArgv?: string[];
}

/** `pipeline sweep config.yaml`: runs a sweep in parallel child processes on this machine. */
export async function runSweepLocally(options: RunSweepLocallyOptions): Promise<SweepSummary> {
  const sweep = resolveSweep(options.config, options.sweep);
  const parallel = options.parallel ?? sweep.parallel;
  const executor = createLocalExecutor({
    runner: options.runner,
    ...(parallel !== undefined ? { parallel } : {}),
    ...(options.execArgv ? { execArgv: options.execArgv } : {}),
  });
  return runSweep({ ...options, sweep, executor });
}

/**
 * `pipeline sweep status <dir>`: the trials table and the best point, from a sweep directory, or from
 * Redis (`{ connection, sweepId }`) for a sweep run through the queue.
 */
export async function sweepStatus(source: string | { connection: RedisConnection; sweepId: string; prefix?: string }): Promise<SweepSummary> {
  return typeof source === 'string' ? sweepStatusFromDir(source) : sweepStatusFromRedis(source);
}

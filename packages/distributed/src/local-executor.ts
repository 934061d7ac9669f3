import { availableParallelism } from 'node:os';
import { TrialProcessPool, runTrialInChild, sharedCoresEnv } from './child.js';
import { executeTrial } from './harness.js';
import type { Executor, ExecutorRunOptions, RunnerRef, Trial, TrialResult, TrialRunner } from './types.js';
import { sleep } from './_sleep.js';

export interface LocalExecutorOptions {
  /**
   * A module reference (`/abs/runner.ts#runTrial`): each trial runs in a fresh child process.
   * A function runs trials in this process instead (no isolation; for embedding and quick checks).
   */
  runner: RunnerRef | TrialRunner;
  /** Trials at once; defaults to one per core. */
  parallel?: number;
  /** Tries per trial, the first included (default 1: a local failure is usually deterministic). */
  attempts?: number;
  /** Delay before a retry; doubles each time. */
  backoffMs?: number;
  /** Node flags for the children; defaults to this process's (tsx and the source condition in dev). */
  execArgv?: string[];
  /**
   * Keep up to `parallel` children alive and give each trial to an idle one (default true: start-up is
   * paid once). false: a fresh process per trial, for runners that leave global state behind.
   */
  reuseProcesses?: boolean;
}

/** Runs trials in parallel child processes on this machine, each with its own seed (the default executor). */
export function createLocalExecutor(options: LocalExecutorOptions): Executor {
  const parallel = Math.max(1, options.parallel ?? availableParallelism());
  const attempts = Math.max(1, options.attempts ?? 1);
  return {
    kind: 'local',
    async *run(trials: readonly Trial[], run: ExecutorRunOptions): AsyncIterable<TrialResult> {
      const stop = new AbortController();
      const onOuterAbort = () => stop.abort(run.signal?.reason);
      if (run.signal?.aborted) onOuterAbort();
      run.signal?.addEventListener('abort', onOuterAbort, { once: true });
      const inProcess = typeof options.runner === 'function' ? options.runner : undefined;
      const env = sharedCoresEnv(parallel, availableParallelism());
      const pool = new TrialProcessPool(typeof options.runner === 'string' ? options.runner : '', options.execArgv, env);

      const once = async (trial: Trial, attempt: number): Promise<TrialResult> => {
        if (inProcess) {
          const worker = `local:${process.pid}`;
          run.onStart?.(trial, worker);
          return executeTrial(trial, { sweepDir: run.sweepDir, runner: inProcess, signal: stop.signal, worker, attempt });
        }
        if (options.reuseProcesses === false) {
          const worker = `local:${process.pid}/${trial.index}`;
          run.onStart?.(trial, worker);
          return runTrialInChild(trial, {
            sweepDir: run.sweepDir,
            runner: options.runner as RunnerRef,
            worker,
            attempt,
            signal: stop.signal,
            ...(options.execArgv ? { execArgv: options.execArgv } : {}),
            env,
          });
        }
        const proc = pool.acquire();
        const worker = `local:${proc.pid}`;
        run.onStart?.(trial, worker);
        return proc.run(trial, { sweepDir: run.sweepDir, worker, attempt, signal: stop.signal });
      };
      const withRetries = async (trial: Trial): Promise<TrialResult> => {
        let result = await once(trial, 1);
        for (let a = 2; a <= attempts && result.status === 'failed' && !stop.signal.aborted; a++) {
          await sleep((options.backoffMs ?? 1000) * 2 ** (a - 2), stop.signal);
          if (stop.signal.aborted) break;
          result = await once(trial, a);
        }
        return result;
      };

      const pending = [...trials];
      const running = new Map<number, Promise<{ key: number; result: TrialResult }>>();
      let key = 0;
      const launch = () => {
        while (running.size < parallel && pending.length && !stop.signal.aborted) {
          const trial = pending.shift()!;
          const k = key++;
          running.set(
            k,
            withRetries(trial).then((result) => ({ key: k, result })),
          );
        }
      };
      try {
        launch();
        while (running.size) {
          const { key: done, result } = await Promise.race(running.values());
          running.delete(done);
          if (stop.signal.aborted) break;
          yield result;
          launch();
        }
      } finally {
        // The consumer stopped early (a failed trial, a timeout): stop the children and wait for them.
        stop.abort(new Error('the sweep stopped'));
        run.signal?.removeEventListener('abort', onOuterAbort);
        await Promise.allSettled(running.values());
        await pool.close();
      }
    },
  };
}

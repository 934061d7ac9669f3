import { fork } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '@tfpipe/core';
import { TRIAL_FILES, trialDir } from './harness.js';
import type { RunnerRef, Trial, TrialResult } from './types.js';

/** The worker entry script beside this module (`.ts` when running from source, `.js` when built). */
export function workerEntryPath(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./_worker-entry${ext}`, import.meta.url));
}

/**
 * Node flags for children: this process's own (`--conditions=@tfpipe/source --import tsx` carry over in
 * dev). Test runners start workers without the tsx loader, so a `.ts` entry gets it added.
 */
export function childExecArgv(entry: string = workerEntryPath()): string[] {
  const argv = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  if (entry.endsWith('.ts')) {
    const hasTsx = argv.some((a, i) => (a === '--import' && /tsx/.test(argv[i + 1] ?? '')) || /^--(import|loader)=.*tsx/.test(a));
    if (!hasTsx) argv.push('--import', 'tsx');
    if (!argv.some((a) => a.includes('@tfpipe/source'))) argv.push('--conditions=@tfpipe/source');
  }
  return argv;
}

/** Messages between the parent and a trial child. */
export type ChildMessage =
  | { type: 'run'; trial: Trial; sweepDir: string; worker: string; attempt: number }
  | { type: 'abort' }
  | { type: 'result'; result: TrialResult };

export interface ChildOptions {
  sweepDir: string;
  runner: RunnerRef;
  worker: string;
  attempt?: number;
  signal?: AbortSignal;
  execArgv?: string[];
  /** Time a child gets to stop after an abort before it is killed. */
  killAfterMs?: number;
}

/**
 * Runs one trial in a fresh child process (`process.execPath` with this process's flags) and resolves
 * with its result. A child that dies without a result yields a failed result, written to result.json.
 * Its stdout and stderr go to `<runDir>/trial.log`.
 */
export async function runTrialInChild(trial: Trial, options: ChildOptions): Promise<TrialResult> {
  const runDir = trialDir(options.sweepDir, trial.id);
  await mkdir(runDir, { recursive: true });
  const log = await open(join(runDir, TRIAL_FILES.log), 'a');
  const entry = workerEntryPath();
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  try {
    return await new Promise<TrialResult>((resolvePromise) => {
      const child = fork(entry, ['trial', '--runner', options.runner], {
        execPath: process.execPath,
        execArgv: options.execArgv ?? childExecArgv(entry),
        stdio: ['ignore', log.fd, log.fd, 'ipc'],
        serialization: 'advanced',
      });
      let result: TrialResult | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (child.connected) child.send({ type: 'abort' } satisfies ChildMessage);
        killTimer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 5000);
      };
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'result') {
          result = m.result;
          child.disconnect();
        }
      });
      child.on('error', () => {}); // 'exit' follows and reports it
      child.on('exit', (code, sig) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (result) return resolvePromise(result);
        const failed: TrialResult = {
          id: trial.id,
          index: trial.index,
          status: 'failed',
          metrics: {},
          runDir,
          durationMs: performance.now() - t0,
          attempts: options.attempt ?? 1,
          worker: options.worker,
          startedAt,
          finishedAt: new Date().toISOString(),
          error: `the trial process exited ${sig ? `on ${sig}` : `with code ${code}`} before reporting a result (see ${join(runDir, TRIAL_FILES.log)})`,
        };
        writeJsonAtomic(join(runDir, TRIAL_FILES.result), failed).then(
          () => resolvePromise(failed),
          () => resolvePromise(failed),
        );
      });
      child.send({ type: 'run', trial, sweepDir: options.sweepDir, worker: options.worker, attempt: options.attempt ?? 1 } satisfies ChildMessage);
    });
  } finally {
    await log.close();
  }
}

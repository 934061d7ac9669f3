import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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

export interface RunInChildOptions {
  sweepDir: string;
  worker: string;
  attempt?: number;
  signal?: AbortSignal;
  /** Time a child gets to stop after an abort before it is killed (ms, default 5000). */
  killAfterMs?: number;
}

export interface ChildOptions extends RunInChildOptions {
  runner: RunnerRef;
  execArgv?: string[];
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The environment for `parallel` trial children on this machine: each one's wasm backend may use its
 * share of the cores (TFPIPE_WASM_MAX_THREADS), so trials at once never start more threads than cores.
 */
export function sharedCoresEnv(parallel: number, cores: number): NodeJS.ProcessEnv {
  if (process.env.TFPIPE_WASM_MAX_THREADS) return process.env;
  return { ...process.env, TFPIPE_WASM_MAX_THREADS: String(Math.max(1, Math.floor(cores / Math.max(1, parallel)))) };
}

/**
 * One child process that runs trials one after another (`_worker-entry.ts trial`). Its output goes to
 * the current trial's `trial.log`. A child that dies mid-trial turns that trial into a failed result.
 */
export class TrialProcess {
  private readonly child: ChildProcess;
  private log: WriteStream | undefined;
  private current: ((r: TrialResult | undefined, why?: string) => void) | undefined;
  private exitInfo: string | undefined;
  busy = false;

  constructor(runner: RunnerRef, execArgv?: string[], env?: NodeJS.ProcessEnv) {
    const entry = workerEntryPath();
    this.child = fork(entry, ['trial', '--runner', runner], {
      execPath: process.execPath,
      ...(env ? { env } : {}),
      execArgv: execArgv ?? childExecArgv(entry),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const toLog = (chunk: Buffer) => this.log?.write(chunk);
    this.child.stdout?.on('data', toLog);
    this.child.stderr?.on('data', toLog);
    this.child.on('message', (m: ChildMessage) => {
      if (m.type === 'result') this.current?.(m.result);
    });
    this.child.on('error', () => {}); // 'exit' follows and reports it
    this.child.on('exit', (code, sig) => {
      this.exitInfo = sig ? `on ${sig}` : `with code ${code}`;
      this.current?.(undefined, this.exitInfo);
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined && this.child.connected;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one trial here; resolves with its result (a failed one if the process dies). */
  async run(trial: Trial, options: RunInChildOptions): Promise<TrialResult> {
    // Set before the first await: the pool picks idle processes synchronously.
    this.busy = true;
    const runDir = trialDir(options.sweepDir, trial.id);
    await mkdir(runDir, { recursive: true });
    this.log = createWriteStream(join(runDir, TRIAL_FILES.log), { flags: 'a' });
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (this.child.connected) this.child.send({ type: 'abort' } satisfies ChildMessage);
      killTimer = setTimeout(() => this.child.kill('SIGKILL'), options.killAfterMs ?? 5000);
    };
    try {
      const outcome = await new Promise<{ result?: TrialResult; why?: string }>((resolve) => {
        this.current = (result, why) => resolve({ ...(result ? { result } : {}), ...(why ? { why } : {}) });
        if (!this.alive) return resolve({ why: this.exitInfo ?? 'before it could start' });
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
        this.child.send({ type: 'run', trial, sweepDir: options.sweepDir, worker: options.worker, attempt: options.attempt ?? 1 } satisfies ChildMessage);
      });
      if (outcome.result) return outcome.result;
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
        error: `the trial process exited ${outcome.why} before reporting a result (see ${join(runDir, TRIAL_FILES.log)})`,
      };
      await writeJsonAtomic(join(runDir, TRIAL_FILES.result), failed);
      return failed;
    } finally {
      this.current = undefined;
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      const log = this.log;
      this.log = undefined;
      await new Promise<void>((done) => log.end(done));
      this.busy = false;
    }
  }

  /** Lets the child exit (it exits when the IPC channel closes); kills it if it does not within `ms`. */
  async close(ms = 5000): Promise<void> {
    if (this.exitInfo !== undefined) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    if (this.child.connected) this.child.disconnect();
    const t = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(t);
  }
}

/**
 * Child processes kept alive between trials: a trial goes to an idle live one, else to a new one. Start-up
 * (module loading, tfjs) is paid once per process instead of once per trial.
 */
export class TrialProcessPool {
  private readonly procs: TrialProcess[] = [];

  constructor(
    private readonly runner: RunnerRef,
    private readonly execArgv?: string[],
    private readonly env?: NodeJS.ProcessEnv,
  ) {}

  /** Picks (synchronously) the process for the next trial, so that concurrent calls never share one. */
  acquire(): TrialProcess {
    for (let i = this.procs.length - 1; i >= 0; i--) if (!this.procs[i]!.alive) this.procs.splice(i, 1);
    let proc = this.procs.find((p) => !p.busy);
    if (!proc) {
      proc = new TrialProcess(this.runner, this.execArgv, this.env);
      this.procs.push(proc);
    }
    proc.busy = true;
    return proc;
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.splice(0).map((p) => p.close()));
  }
}

/** Runs one trial in a fresh child process (`process.execPath` with this process's flags), then lets it exit. */
export async function runTrialInChild(trial: Trial, options: ChildOptions): Promise<TrialResult> {
  const proc = new TrialProcess(options.runner, options.execArgv, options.env);
  try {
    return await proc.run(trial, options);
  } finally {
    await proc.close();
  }
}

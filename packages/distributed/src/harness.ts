import { access, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TfpipeError, writeFileAtomic, writeJsonAtomic, type Logger } from '@tfpipe/core';
import { parseUntrusted, trialSchema } from './job-schema.js';
import { SWEEP_FILES } from './sweep.js';
import type { RunnerRef, Trial, TrialResult, TrialRunner } from './types.js';

/** Files in a trial's run directory that this package writes (the runner writes the rest). */
export const TRIAL_FILES = { trial: 'trial.json', started: 'started.json', result: 'result.json', log: 'trial.log' } as const;

/** `<sweepDir>/trials/<trialId>`. */
export function trialDir(sweepDir: string, trialId: string): string {
  return join(sweepDir, 'trials', trialId);
}

/** Splits `module#export`; the export defaults to `runTrial`, else the module's default export. */
export function parseRunnerRef(ref: RunnerRef): { module: string; exportName?: string } {
  const hash = ref.lastIndexOf('#');
  if (hash <= 0) return { module: ref };
  return { module: ref.slice(0, hash), exportName: ref.slice(hash + 1) };
}

/** Imports a runner by reference: a file path (absolute or relative to cwd) or a package name. */
export async function loadRunner(ref: RunnerRef, cwd: string = process.cwd()): Promise<TrialRunner> {
  const { module, exportName } = parseRunnerRef(ref);
  const isFile = isAbsolute(module) || module.startsWith('./') || module.startsWith('../');
  const spec = isFile ? pathToFileURL(isAbsolute(module) ? module : resolve(cwd, module)).href : module;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    throw new TfpipeError('E_USAGE', `cannot import the trial runner module "${module}": ${(e as Error).message}`, {
      hint: 'Pass --runner /abs/path/module.js#exportName (or a package name with #exportName).',
      cause: e,
    });
  }
  const names = exportName ? [exportName] : ['runTrial', 'default'];
  for (const n of names) if (typeof mod[n] === 'function') return mod[n] as TrialRunner;
  const fns = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
  throw new TfpipeError('E_USAGE', `the module "${module}" has no function export ${names.map((n) => `"${n}"`).join(' or ')}`, {
    hint: fns.length ? `It exports: ${fns.join(', ')}.` : 'It exports no functions.',
  });
}

/** Checks a runner's output: a metrics object of finite numbers. Returns why not, or undefined. */
function badMetrics(metrics: unknown): string | undefined {
  if (!metrics || typeof metrics !== 'object' || Array.isArray(metrics)) return `the runner returned metrics ${JSON.stringify(metrics)}; expected an object of numbers`;
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v !== 'number') return `the runner returned metric "${k}" = ${JSON.stringify(v)}; expected a number`;
  }
  return undefined;
}

export interface ExecuteTrialOptions {
  sweepDir: string;
  runner: TrialRunner;
  signal?: AbortSignal;
  /** Who runs it, recorded in started.json / result.json. */
  worker?: string;
  attempt?: number;
  logger?: Logger;
}

/**
 * Runs one trial in this process and records it: `trial.json`, `started.json` at the start and
 * `result.json` at the end, all in `<sweepDir>/trials/<id>`. Never throws for a failing runner: the
 * failure is the result (status 'failed', error message).
 */
export async function executeTrial(trial: Trial, options: ExecuteTrialOptions): Promise<TrialResult> {
  const runDir = trialDir(options.sweepDir, trial.id);
  const worker = options.worker ?? `local:${process.pid}`;
  const attempts = options.attempt ?? 1;
  const startedAt = new Date();
  await writeJsonAtomic(join(runDir, TRIAL_FILES.trial), trial);
  await writeJsonAtomic(join(runDir, TRIAL_FILES.started), { id: trial.id, worker, pid: process.pid, attempt: attempts, startedAt: startedAt.toISOString() });
  const t0 = performance.now();
  const base = { id: trial.id, index: trial.index, runDir, attempts, worker, startedAt: startedAt.toISOString() };
  let result: TrialResult;
  try {
    const signal = options.signal ?? new AbortController().signal;
    if (signal.aborted) throw new Error('aborted before the trial started');
    const out = await options.runner(trial, { runDir, signal, attempt: attempts, ...(options.logger ? { logger: options.logger } : {}) });
    const bad = badMetrics(out?.metrics);
    result = bad
      ? { ...base, status: 'failed', metrics: {}, durationMs: performance.now() - t0, error: bad }
      : { ...base, status: 'completed', metrics: { ...out.metrics }, runDir: out.runDir ?? runDir, durationMs: performance.now() - t0 };
  } catch (e) {
    const err = e as Error;
    result = { ...base, status: 'failed', metrics: {}, durationMs: performance.now() - t0, error: err?.message ?? String(e) };
  }
  result.finishedAt = new Date().toISOString();
  await writeJsonAtomic(join(runDir, TRIAL_FILES.result), result);
  return result;
}

/** Reads a trial written by `expandSweep` to a JSON file (the Kubernetes path) and runs it. */
export async function runTrialFile(options: {
  trialFile: string;
  sweepDir: string;
  runner: TrialRunner | RunnerRef;
  worker?: string;
  signal?: AbortSignal;
  /** The sweep's initial sweep.json (the Kubernetes ConfigMap has one): copied into `sweepDir` if absent, for `sweepStatus`. */
  summaryFile?: string;
}): Promise<TrialResult> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(options.trialFile, 'utf8'));
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read the trial file ${options.trialFile}: ${(e as Error).message}`, { cause: e });
  }
  // Its id names a folder: checked like a job's before it becomes a path.
  const trial: Trial = parseUntrusted(trialSchema, raw, 'the trial', `in ${options.trialFile}`);
  if (options.summaryFile) {
    const target = join(options.sweepDir, SWEEP_FILES.summary);
    try {
      await access(target);
    } catch {
      // Pods race to write it; every copy has the same content and the write is atomic.
      await writeFileAtomic(target, await readFile(options.summaryFile));
    }
  }
  const runner = typeof options.runner === 'string' ? await loadRunner(options.runner) : options.runner;
  return executeTrial(trial, {
    sweepDir: options.sweepDir,
    runner,
    worker: options.worker ?? `pod:${process.env.HOSTNAME ?? process.pid}`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

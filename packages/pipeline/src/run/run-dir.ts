import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { TfpipeError, readJsonLines, writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import type { SkipSummary } from '@tfpipe/data';

/** Files of a run directory. One place names them, so writers and readers agree. */
export const RUN_FILES = {
  run: 'run.json',
  config: 'config.resolved.yaml',
  metrics: 'metrics.jsonl',
  evaluation: 'evaluation.json',
  report: 'report.html',
  model: 'model',
  checkpoints: 'checkpoints',
} as const;

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'gate-failed';

/** `run.json`: what a run is, where it stands, and its headline results. Rewritten atomically. */
export interface RunInfo {
  name: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  backend?: string;
  configFile?: string;
  seed?: number;
  epochs?: number;
  bestEpoch?: number;
  stopReason?: string;
  /** Test metrics (from evaluation.json), for `pipeline runs list`. */
  metrics?: Record<string, number>;
  /** The metric the run is judged by and its direction. */
  primaryMetric?: { name: string; direction: 'max' | 'min' };
  blessed?: boolean;
  error?: string;
  /** Rows the data source skipped (`onError: skip`), per reason with the first rows of each. */
  skipped?: SkipSummary;
  /** External tracking: the MLflow run this run was recorded as. */
  tracking?: { mlflow?: { uri: string; runId: string; experimentId: string; error?: string } };
  tfpipeVersion: string;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Makes `<root>/<name>-<timestamp>` (with a suffix if taken) and returns its absolute path. */
export async function createRunDir(root: string, name: string, now = new Date()): Promise<string> {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  await mkdir(root, { recursive: true });
  for (let i = 0; i < 1000; i++) {
    const dir = resolve(root, `${safe}-${stamp(now)}${i ? `-${i}` : ''}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new TfpipeError('E_IO', `cannot create a run directory under ${root}`);
}

/**
 * Makes `dir` the run directory of a new run (`--out`): creates it, or takes it when it exists and is empty.
 * A folder that already holds something, above all another run, is refused before anything is written.
 */
export async function claimRunDir(dir: string): Promise<string> {
  const full = resolve(dir);
  await mkdir(full, { recursive: true });
  const entries = (await readdir(full)).filter((n) => !n.startsWith('.'));
  if (entries.length === 0) return full;
  let status: string | undefined;
  if (entries.includes(RUN_FILES.run)) {
    status = await readRunInfo(full).then(
      (i) => i.status,
      () => 'unreadable',
    );
  }
  const what = status !== undefined ? `already holds a run (${RUN_FILES.run}, status ${JSON.stringify(status)})` : `is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''})`;
  throw new TfpipeError('E_USAGE', `--out ${dir}: the folder ${what}; a new run needs a new or empty folder`, {
    path: ['out'],
    issues: [{ path: ['out'], message: `the folder ${what}`, received: dir, expected: 'a folder that does not exist yet, or an empty one' }],
    hint: status !== undefined ? `Choose another --out, or continue that run with --resume ${dir}.` : 'Choose another --out.',
  });
}

export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await writeJsonAtomic(join(dir, RUN_FILES.run), info);
}

export async function readRunInfo(dir: string): Promise<RunInfo> {
  try {
    return JSON.parse(await readFile(join(dir, RUN_FILES.run), 'utf8')) as RunInfo;
  } catch (e) {
    throw new TfpipeError('E_IO', `${dir} is not a tfpipe run directory (no readable ${RUN_FILES.run})`, { cause: e });
  }
}

export async function writeResolvedConfig(dir: string, config: unknown): Promise<void> {
  const header = '# Every default filled in. `pipeline run <this file>` repeats the run.\n';
  await writeFileAtomic(join(dir, RUN_FILES.config), header + stringify(config, { lineWidth: 0 }));
}

export async function readMetrics<T = Record<string, number>>(dir: string): Promise<T[]> {
  return readJsonLines<T>(join(dir, RUN_FILES.metrics));
}

/** The run directories directly under `root` (folders with a run.json), newest first. */
export async function listRunDirs(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const dirs: { dir: string; mtime: number }[] = [];
  for (const n of names) {
    const dir = join(root, n);
    try {
      const s = await stat(join(dir, RUN_FILES.run));
      dirs.push({ dir, mtime: s.mtimeMs });
    } catch {
      // not a run directory
    }
  }
  return dirs.sort((a, b) => b.mtime - a.mtime).map((d) => d.dir);
}

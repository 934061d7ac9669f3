import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { TfpipeError } from '@tfpipe/core';
import { RUN_FILES, listRunDirs, readMetrics, readRunInfo, type RunInfo } from './run-dir.js';

export interface RunSummary extends RunInfo {
  dir: string;
  /** The epoch with the best monitored value, with its logged figures. */
  best?: Record<string, number>;
}

/** Finds a run by directory path or by folder name under `root`. */
export function resolveRun(run: string, root = 'runs'): string {
  for (const c of [run, join(root, run)]) if (existsSync(join(c, RUN_FILES.run))) return resolve(c);
  throw new TfpipeError('E_USAGE', `no run "${run}" (looked for ${run}/${RUN_FILES.run} and ${join(root, run)}/${RUN_FILES.run})`);
}

export async function summarizeRun(dir: string): Promise<RunSummary> {
  const info = await readRunInfo(dir);
  const history = await readMetrics(dir);
  const best = info.bestEpoch !== undefined ? history.find((h) => h.epoch === info.bestEpoch) : history.at(-1);
  return { ...info, dir, ...(best ? { best } : {}) };
}

/** Every run under `root`, newest first. */
export async function listRuns(root = 'runs'): Promise<RunSummary[]> {
  return Promise.all((await listRunDirs(root)).map(summarizeRun));
}

function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : obj;
  return out;
}

export interface RunComparison {
  runs: RunSummary[];
  /** Config paths whose values differ between the runs. */
  configDiff: { path: string; values: unknown[] }[];
  /** Test metrics side by side, and the best epoch's validation figures (not the last epoch's). */
  metricDiff: { metric: string; values: (number | undefined)[] }[];
}

/** Config and metric differences between runs; the best epoch is used, not the last one. */
export async function compareRuns(dirs: string[]): Promise<RunComparison> {
  if (dirs.length < 2) throw new TfpipeError('E_USAGE', 'runs compare needs two or more runs');
  const runs = await Promise.all(dirs.map(summarizeRun));
  const configs = await Promise.all(dirs.map(async (d) => flatten(parse(await readFile(join(d, RUN_FILES.config), 'utf8')))));
  const paths = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const configDiff = paths
    .map((path) => ({ path, values: configs.map((c) => c[path]) }))
    .filter((d) => new Set(d.values.map((v) => JSON.stringify(v))).size > 1);
  const metricNames = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.metrics ?? {})) if (typeof r.metrics?.[k] === 'number') metricNames.add(`test.${k}`);
    for (const k of Object.keys(r.best ?? {})) if (k.startsWith('val_') || k === 'loss') metricNames.add(`best.${k}`);
  }
  const metricDiff = [...metricNames].sort().map((metric) => {
    const [scope, name] = [metric.slice(0, metric.indexOf('.')), metric.slice(metric.indexOf('.') + 1)];
    return { metric, values: runs.map((r) => (scope === 'test' ? r.metrics?.[name] : r.best?.[name])) };
  });
  return { runs, configDiff, metricDiff };
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError } from '@tfpipe/core';
import { TRIAL_FILES } from './harness.js';
import { SWEEP_FILES } from './sweep.js';
import { type SweepSummary, type TrialRow, refreshSummary } from './summary.js';
import type { TrialResult } from './types.js';

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Updates unfinished rows from the results the workers wrote (they may be ahead of sweep.json). */
export function overlayResults(summary: SweepSummary, results: ReadonlyMap<string, TrialResult>, started: ReadonlySet<string> = new Set()): SweepSummary {
  const trials: TrialRow[] = summary.trials.map((row) => {
    if (row.status === 'completed' || row.status === 'failed') return row;
    const r = results.get(row.id);
    if (r) {
      const m = r.metrics[summary.metric];
      return {
        ...row,
        status: r.status,
        metrics: r.metrics,
        durationMs: r.durationMs,
        attempts: r.attempts,
        runDir: r.runDir,
        ...(r.worker ? { worker: r.worker } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(r.status === 'completed' && typeof m === 'number' ? { metric: m } : {}),
      };
    }
    return started.has(row.id) ? { ...row, status: 'running' } : row;
  });
  return refreshSummary({ ...summary, trials });
}

/**
 * The state of a sweep from its directory: `sweep.json`, brought up to date with each trial's
 * `result.json` / `started.json` (so it is right while the sweep runs, or after its parent died).
 */
export async function sweepStatusFromDir(sweepDir: string): Promise<SweepSummary> {
  const summary = await readJson<SweepSummary>(join(sweepDir, SWEEP_FILES.summary));
  if (!summary) {
    throw new TfpipeError('E_IO', `${sweepDir} holds no ${SWEEP_FILES.summary}`, {
      hint: 'Pass the directory a sweep was started in (it prints it), e.g. runs/iris-sweep-20250101-120000-1a2b.',
    });
  }
  const results = new Map<string, TrialResult>();
  const started = new Set<string>();
  for (const row of summary.trials) {
    if (row.status === 'completed' || row.status === 'failed') continue;
    const dir = join(sweepDir, SWEEP_FILES.trials, row.id);
    const r = await readJson<TrialResult>(join(dir, TRIAL_FILES.result));
    if (r) results.set(row.id, r);
    else if (await readJson(join(dir, TRIAL_FILES.started))) started.add(row.id);
  }
  return overlayResults(summary, results, started);
}

function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The trials table as aligned text: id, params, status, metric, duration; then the best point. */
export function formatSweepTable(summary: SweepSummary): string {
  const paths = Object.keys(summary.parameters);
  const head = ['trial', ...paths, 'status', summary.metric, 'seconds'];
  const rows = summary.trials.map((r) => [
    r.id,
    ...paths.map((p) => cell(r.params[p])),
    r.status,
    r.metric === undefined ? '' : cell(r.metric),
    r.durationMs === undefined ? '' : (r.durationMs / 1000).toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), ...rows.map(line)];
  const b = summary.best;
  if (b) {
    const params = paths.map((p) => `${p}=${cell(b.params[p])}`).join(', ');
    // With folds, the point (trial-002) is what was chosen, not one of its folds.
    const label = b.trials.length > 1 ? b.trials[0]!.replace(/-fold-\d+$/, '') : b.trials[0];
    out.push('', `best: ${label} ${summary.metric}=${cell(b.metric)}${b.std !== undefined ? ` ± ${cell(b.std)}` : ''}${params ? ` (${params})` : ''}`);
  }
  out.push(`status: ${summary.status}${summary.error ? ` (${summary.error})` : ''}`);
  return out.join('\n');
}

import type { Direction } from '@tfpipe/core';
import type { SweepConfig } from './sweep-schema.js';
import type { Trial, TrialResult, TrialStatus } from './types.js';

/** One row of the trials table. */
export interface TrialRow {
  id: string;
  index: number;
  point: number;
  fold?: number;
  rung?: number;
  params: Record<string, unknown>;
  seed: number;
  status: TrialStatus;
  /** The sweep metric, when the trial completed and reported it. */
  metric?: number;
  metrics: Record<string, number>;
  durationMs?: number;
  attempts?: number;
  worker?: string;
  error?: string;
  runDir?: string;
}

/** A point at one rung: its folds' metric as mean ± std (population std, as scikit-learn's cv_results_). */
export interface PointSummary {
  point: number;
  rung?: number;
  params: Record<string, unknown>;
  status: TrialStatus;
  /** Completed trials of this point (folds). */
  n: number;
  mean?: number;
  std?: number;
  values: number[];
  trials: string[];
}

export interface SweepSummary {
  version: 1;
  id: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  method: SweepConfig['method'];
  metric: string;
  direction: Direction;
  seed: number;
  kfold?: number;
  parameters: SweepConfig['parameters'];
  executor?: string;
  startedAt: string;
  finishedAt?: string;
  error?: string;
  trials: TrialRow[];
  points: PointSummary[];
  /** The best point (at the highest rung reached, for halving), with its metric as mean ± std. */
  best?: { point: number; rung?: number; params: Record<string, unknown>; metric: number; std?: number; trials: string[] };
}

/** Mean and population standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/** A trial table row from a trial and its result (if any yet). */
export function trialRow(trial: Trial, metric: string, result?: TrialResult, status?: TrialStatus): TrialRow {
  const row: TrialRow = {
    id: trial.id,
    index: trial.index,
    point: trial.point,
    params: trial.params,
    seed: trial.seed,
    status: result?.status ?? status ?? 'pending',
    metrics: result?.metrics ?? {},
    ...(trial.fold !== undefined ? { fold: trial.fold } : {}),
    ...(trial.rung !== undefined ? { rung: trial.rung } : {}),
  };
  if (result) {
    row.durationMs = result.durationMs;
    row.attempts = result.attempts;
    row.runDir = result.runDir;
    if (result.worker) row.worker = result.worker;
    if (result.error) row.error = result.error;
    const m = result.metrics[metric];
    if (result.status === 'completed' && typeof m === 'number') row.metric = m;
  }
  return row;
}

/** Groups rows by (point, rung) and aggregates the metric; a point with a failed fold is failed. */
export function summarizePoints(rows: readonly TrialRow[]): PointSummary[] {
  const groups = new Map<string, TrialRow[]>();
  for (const r of rows) {
    const k = `${r.point}/${r.rung ?? 0}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: PointSummary[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const values = g.filter((r) => r.status === 'completed' && r.metric !== undefined).map((r) => r.metric!);
    const status: TrialStatus = g.some((r) => r.status === 'failed')
      ? 'failed'
      : g.every((r) => r.status === 'completed')
        ? 'completed'
        : g.some((r) => r.status !== 'pending')
          ? 'running'
          : 'pending';
    const p: PointSummary = { point: first.point, params: first.params, status, n: values.length, values, trials: g.map((r) => r.id) };
    if (first.rung !== undefined) p.rung = first.rung;
    if (status === 'completed' && values.length === g.length) Object.assign(p, meanStd(values));
    out.push(p);
  }
  return out.sort((a, b) => (a.rung ?? 0) - (b.rung ?? 0) || a.point - b.point);
}

/** Completed points ranked best first (ties keep point order). */
export function rankPoints(points: readonly PointSummary[], direction: Direction): PointSummary[] {
  const done = points.filter((p) => p.mean !== undefined && Number.isFinite(p.mean));
  return done.sort((a, b) => (direction === 'max' ? b.mean! - a.mean! : a.mean! - b.mean!) || a.point - b.point);
}

/** The best completed point at the highest rung that has one. */
export function bestPoint(points: readonly PointSummary[], direction: Direction): SweepSummary['best'] {
  const ranked = rankPoints(points, direction);
  if (!ranked.length) return undefined;
  const top = Math.max(...ranked.map((p) => p.rung ?? 0));
  const b = ranked.find((p) => (p.rung ?? 0) === top)!;
  return {
    point: b.point,
    params: b.params,
    metric: b.mean!,
    trials: b.trials,
    ...(b.rung !== undefined ? { rung: b.rung } : {}),
    ...(b.values.length > 1 ? { std: b.std! } : {}),
  };
}

/** Recomputes points and best from the rows. */
export function refreshSummary(summary: SweepSummary): SweepSummary {
  const points = summarizePoints(summary.trials);
  const best = bestPoint(points, summary.direction);
  const out: SweepSummary = { ...summary, points };
  if (best) out.best = best;
  else delete out.best;
  return out;
}

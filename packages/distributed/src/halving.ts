import { type SweepPoint, trialsFor } from './expand.js';
import type { SweepConfig } from './sweep-schema.js';
import { type TrialRow, rankPoints, summarizePoints } from './summary.js';
import type { Trial } from './types.js';

/** One rung of successive halving: how many points run, with how much resource. */
export interface Rung {
  rung: number;
  points: number;
  resource: number;
}

/**
 * The rungs of successive halving (Jamieson & Talwalkar 2016): rung k runs floor(n / eta^k) points with
 * min·eta^k resource, until one point is left or the next resource would pass `max`.
 */
export function halvingRungs(n: number, h: { min: number; max: number; eta: number }): Rung[] {
  const rungs: Rung[] = [];
  for (let k = 0; ; k++) {
    const resource = h.min * h.eta ** k;
    const points = Math.max(1, Math.floor(n / h.eta ** k));
    // A small tolerance: 0.1·3·3 is 0.9000000000000001.
    if (resource > h.max * (1 + 1e-9)) break;
    rungs.push({ rung: k, points, resource });
    if (points === 1) break;
  }
  return rungs;
}

/**
 * The trials of the rung after `rung`, from the results of that rung: its best points (by mean metric;
 * failed points never advance) with eta times the resource. Undefined when `rung` was the last. Pure.
 */
export function nextHalvingRung(
  baseConfig: unknown,
  sweep: SweepConfig,
  rung: number,
  rows: readonly TrialRow[],
  trials: readonly Trial[],
  firstIndex: number,
): Trial[] | undefined {
  const h = sweep.halving!;
  const plan = halvingRungs(sweep.budget!, h);
  const next = plan[rung + 1];
  if (!next) return undefined;
  const ranked = rankPoints(
    summarizePoints(rows.filter((r) => (r.rung ?? 0) === rung)),
    sweep.direction,
  ).slice(0, next.points);
  if (!ranked.length) return undefined;
  const byPoint = new Map(trials.filter((t) => (t.rung ?? 0) === rung).map((t) => [t.point, t]));
  const points: SweepPoint[] = ranked.map((p) => {
    const t = byPoint.get(p.point)!;
    return { point: t.point, params: t.params, seed: t.seed };
  });
  return trialsFor(baseConfig, sweep, points, { firstIndex, rung: next.rung, extra: { [h.resource]: next.resource } });
}

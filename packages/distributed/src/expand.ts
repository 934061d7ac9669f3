import { createRng, hashSeed } from '@tfpipe/core';
import { getPath, setPath } from './paths.js';
import { cartesian, gridValues, sampleParam } from './space.js';
import { KFOLD_PATHS, type SweepConfig, type SweepInput, resolveSweep } from './sweep-schema.js';
import type { Trial } from './types.js';

/** A hyper-parameter point: the swept values, and the seed its trials share. */
export interface SweepPoint {
  point: number;
  params: Record<string, unknown>;
  seed: number;
}

/** The sweep seed: `sweep.seed`, else the config's `seed`, else 0. */
export function sweepSeed(baseConfig: unknown, sweep: SweepConfig): number {
  if (sweep.seed !== undefined) return sweep.seed;
  const s = baseConfig && typeof baseConfig === 'object' ? (baseConfig as Record<string, unknown>).seed : undefined;
  return typeof s === 'number' && Number.isInteger(s) ? s : 0;
}

/**
 * The points a sweep visits, in order. grid: the Cartesian product (first parameter slowest); when it is
 * larger than `budget`, a seeded subset of `budget` points kept in grid order. random and halving: `budget`
 * seeded draws. Each point gets its own seed from an independent stream.
 */
export function sweepPoints(baseConfig: unknown, sweep: SweepConfig): SweepPoint[] {
  const seed = sweepSeed(baseConfig, sweep);
  const paths = Object.keys(sweep.parameters);
  const specs = Object.values(sweep.parameters);
  let rows: unknown[][];
  if (sweep.method === 'grid') {
    rows = cartesian(specs.map((s) => gridValues(s)!));
    if (sweep.budget !== undefined && rows.length > sweep.budget) {
      const pick = createRng(hashSeed(`sweep:${seed}:grid`)).shuffle(rows.map((_, i) => i)).slice(0, sweep.budget);
      const all = rows;
      rows = pick.sort((a, b) => a - b).map((i) => all[i]!);
    }
  } else {
    const rng = createRng(hashSeed(`sweep:${seed}:sample`));
    rows = Array.from({ length: sweep.budget! }, () => specs.map((s) => sampleParam(s, rng)));
  }
  const seeds = createRng(hashSeed(`sweep:${seed}:trials`));
  return rows.map((values, point) => {
    const params = Object.fromEntries(paths.map((p, i) => [p, values[i]]));
    const own = seeds.seed32();
    // A swept `seed` is the trial's seed: the user asked for exactly those.
    const swept = params.seed;
    return { point, params, seed: typeof swept === 'number' && Number.isInteger(swept) ? swept : own };
  });
}

/** The id of a trial: zero-padded point, then rung and fold when there are any. */
export function trialId(point: number, width: number, fold?: number, rung?: number): string {
  let id = `trial-${String(point).padStart(width, '0')}`;
  if (rung !== undefined && rung > 0) id += `-rung-${rung}`;
  if (fold !== undefined) id += `-fold-${fold}`;
  return id;
}

/**
 * Applies overrides (in order) and the seed to a copy of the base config. The copy has no `sweep:`:
 * a trial is one run, and its runner must not start a sweep of its own.
 */
export function applyOverrides(baseConfig: unknown, overrides: Record<string, unknown>, seed: number): unknown {
  let config = baseConfig;
  for (const [path, value] of Object.entries(overrides)) config = setPath(config, path, value);
  if (config && typeof config === 'object' && !Array.isArray(config)) {
    const { sweep: _sweep, ...rest } = config as Record<string, unknown>;
    config = { ...rest, seed };
  }
  return config;
}

/** What a k-fold trial sets: fold `fold` of `k` for validation, and no separate validation fraction. */
export function kfoldOverrides(baseConfig: unknown, k: number, fold: number): Record<string, unknown> {
  const out: Record<string, unknown> = { [KFOLD_PATHS.k]: k, [KFOLD_PATHS.fold]: fold };
  const validation = getPath(baseConfig, KFOLD_PATHS.validation);
  if (typeof validation === 'number' && validation > 0) out[KFOLD_PATHS.validation] = 0;
  return out;
}

/** The trials of some points: one per point, or `kfold` per point, with `extra` overrides (a rung's resource). */
export function trialsFor(
  baseConfig: unknown,
  sweep: SweepConfig,
  points: readonly SweepPoint[],
  options: { firstIndex?: number; rung?: number; extra?: Record<string, unknown>; width?: number } = {},
): Trial[] {
  const width = options.width ?? Math.max(3, String(Math.max(0, (sweep.budget ?? points.length) - 1)).length);
  const folds = sweep.kfold === undefined ? [undefined] : Array.from({ length: sweep.kfold }, (_, i) => i);
  const trials: Trial[] = [];
  let index = options.firstIndex ?? 0;
  for (const p of points) {
    for (const fold of folds) {
      const overrides: Record<string, unknown> = { ...p.params, ...options.extra };
      if (fold !== undefined) Object.assign(overrides, kfoldOverrides(baseConfig, sweep.kfold!, fold));
      trials.push({
        id: trialId(p.point, width, fold, options.rung),
        index: index++,
        point: p.point,
        params: p.params,
        overrides,
        config: applyOverrides(baseConfig, overrides, p.seed),
        seed: p.seed,
        ...(fold !== undefined ? { fold } : {}),
        ...(options.rung !== undefined ? { rung: options.rung } : {}),
      });
    }
  }
  return trials;
}

/**
 * Expands `sweep:` over `baseConfig` into trials; pure. Validates first (paths must exist in the base
 * config); `sweep` defaults to the config's `sweep:`. For method halving this is the first rung; `nextHalvingRung` gives the rest.
 *
 * @example expandSweep({ seed: 1, train: { lr: 0.1 } }, { parameters: { 'train.lr': [0.1, 0.01] }, metric: 'acc', direction: 'max' })
 *   // → two trials, overrides { 'train.lr': 0.1 } and { 'train.lr': 0.01 }
 */
export function expandSweep(baseConfig: unknown, sweep?: SweepInput | SweepConfig): Trial[] {
  const parsed = resolveSweep(baseConfig, sweep);
  const points = sweepPoints(baseConfig, parsed);
  if (parsed.method === 'halving') {
    const h = parsed.halving!;
    return trialsFor(baseConfig, parsed, points, { rung: 0, extra: { [h.resource]: h.min } });
  }
  return trialsFor(baseConfig, parsed, points);
}

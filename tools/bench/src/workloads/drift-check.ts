/**
 * drift-check: @tfpipe/monitor's drift check on numbers, in values per second (rows x columns of the
 * current data through `profileLike` + `detectDrift`, the work `pipeline drift` does after reading).
 *
 * Reference: a profile of 100,000 rows x 10 normal columns (so Evidently's rule picks the normed
 * Wasserstein distance); current: windows of 1,000 rows (a monitor's window) and one of 100,000 rows,
 * half the columns shifted by 0.5 std. Each figure is the best of 3 passes.
 */
import { createRng } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';
import { detectDrift, profileLike, profileRows } from '@tfpipe/monitor';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

const COLUMNS = 10;

function rows(n: number, seed: number, shift: number): Row[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const r: Row = {};
    for (let j = 0; j < COLUMNS; j++) r[`f${j}`] = rng.normal() * (j + 1) + (j % 2 ? shift * (j + 1) : 0);
    return r;
  });
}

async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const columns = Array.from({ length: COLUMNS }, (_, j) => ({ name: `f${j}`, kind: 'number' as const }));
  const reference = await profileRows(rows(opts.quick ? 20_000 : 100_000, 1, 0), { columns, seed: 1 });
  const out: BenchResult[] = [];
  for (const [label, windowRows, windows] of [['window-1000', 1000, opts.quick ? 5 : 20], ['window-100000', opts.quick ? 20_000 : 100_000, 1]] as const) {
    const data = Array.from({ length: windows }, (_, w) => rows(windowRows, 100 + w, 0.5));
    let best = Number.POSITIVE_INFINITY;
    let drifted = 0;
    for (let pass = 0; pass < 3; pass++) {
      const t0 = performance.now();
      drifted = 0;
      for (const window of data) if (detectDrift(reference, await profileLike(reference, window)).datasetDrift) drifted++;
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    const values = windows * windowRows * COLUMNS;
    out.push({ workload: 'drift-check', current: label, windows, values, seconds: best, valuesPerSec: values / best, driftedWindows: drifted });
  }
  return out;
}

export const workload: Workload = { name: 'drift-check', description: 'drift check throughput on numeric columns (values/s)', run };

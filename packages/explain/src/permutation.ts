import { createRng, type Direction, TfpipeError } from '@tfpipe/core';

export interface PermutationOptions<R> {
  /** The columns (keys of each row) to permute, one at a time. */
  columns: readonly string[];
  /** The model's score on rows (e.g. a metric on the test split); any model, any pipeline of preprocessing. */
  score: (rows: readonly R[]) => number | Promise<number>;
  /** The metric's own direction: max (accuracy) or min (loss, RMSE). Importance is always "how much worse". */
  direction: Direction;
  /** Shuffles per column; mean ± std over them. */
  repeats?: number;
  seed?: number;
  /** Called after each shuffle scored (long work shows progress). */
  onProgress?: (done: number, total: number) => void;
}

export interface ColumnImportance {
  column: string;
  /** Mean loss of score when the column is shuffled (positive: the model relies on it). */
  mean: number;
  /** Standard deviation over repeats (n − 1; 0 for one repeat). */
  std: number;
  /** The score with the column shuffled, per repeat. */
  scores: number[];
}

export interface PermutationImportance {
  /** The score on the rows as they are. */
  baseline: number;
  direction: Direction;
  repeats: number;
  /** Most important first. */
  importances: ColumnImportance[];
}

/**
 * Permutation importance (Breiman 2001; scikit-learn's `permutation_importance`): shuffle one column across
 * rows, score again, and report how much worse the score got, in the metric's own direction.
 */
export async function permutationImportance<R extends Record<string, unknown>>(
  rows: readonly R[],
  options: PermutationOptions<R>,
): Promise<PermutationImportance> {
  const repeats = options.repeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new TfpipeError('E_USAGE', `explain: repeats received ${repeats}; expected an integer >= 1`);
  }
  if (rows.length < 2) throw new TfpipeError('E_USAGE', `explain: permutation importance needs >= 2 rows; received ${rows.length}`);
  if (options.direction !== 'max' && options.direction !== 'min') {
    throw new TfpipeError('E_USAGE', `explain: direction received ${JSON.stringify(options.direction)}; expected "max" | "min"`);
  }
  const first = rows[0]!;
  for (const c of options.columns) {
    if (!(c in first)) {
      throw new TfpipeError('E_USAGE', `explain: column "${c}" is not in the rows; they have ${Object.keys(first).join(', ')}`);
    }
  }
  const rng = createRng(options.seed ?? 0);
  const baseline = await options.score(rows);
  const sign = options.direction === 'max' ? 1 : -1;
  const total = options.columns.length * repeats;
  let done = 0;
  const importances: ColumnImportance[] = [];
  for (const column of options.columns) {
    const scores: number[] = [];
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const order = permutation(rows.length, () => rng.next());
      const shuffled = rows.map((row, i) => ({ ...row, [column]: rows[order[i]!]![column] }) as R);
      const s = await options.score(shuffled);
      scores.push(s);
      drops.push(sign * (baseline - s));
      options.onProgress?.(++done, total);
    }
    importances.push({ column, mean: mean(drops), std: std(drops), scores });
  }
  importances.sort((a, b) => b.mean - a.mean);
  return { baseline, direction: options.direction, repeats, importances };
}

/** Fisher–Yates with the given uniform [0, 1) source. */
function permutation(n: number, next: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function std(v: number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

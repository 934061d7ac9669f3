/**
 * Two-sample drift statistics as pure functions over plain arrays, each matching a SciPy call (the
 * fixtures in `src/__fixtures__/scipy.json` come from `scripts/scipy-fixtures.py`) and, where Evidently
 * wraps it, Evidently's way of preparing the two samples.
 */
import { kolmogorovSf } from './kolmogorov.js';
import { chi2Sf, normalTwoSided, roundHalfEven } from './special.js';

const ascending = (a: number, b: number) => a - b;
const sorted = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();

export interface KsResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-sample Kolmogorov-Smirnov test, two-sided: `scipy.stats.ks_2samp(a, b, method='asymp')`. The
 * statistic is exact; the p-value is `kstwo.sf(D, round(n·m / (n + m)))`, SciPy's asymptotic method.
 */
export function ks2samp(a: readonly number[], b: readonly number[]): KsResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('ks2samp needs two non-empty samples');
  return ks2sampSorted(sorted(a), sorted(b));
}

/** `ks2samp` on samples already sorted ascending. */
export function ks2sampSorted(x: Float64Array, y: Float64Array): KsResult {
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let maxS = 0;
  let minS = 0;
  // Walk every distinct value of both samples in order: the ECDFs just after it differ by i/n1 - j/n2.
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (-diff > minS) minS = -diff;
  }
  const d = Math.max(maxS, minS);
  const [m, n] = [n1, n2].sort(ascending).reverse() as [number, number];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d))) };
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: categories - 1. */
  df: number;
}

/** Pearson's chi-squared goodness of fit: `scipy.stats.chisquare(observed, expected)`. */
export function chiSquare(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  let stat = 0;
  for (let k = 0; k < observed.length; k++) {
    const o = observed[k]!;
    const e = expected[k]!;
    stat += e === 0 ? (o === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : ((o - e) * (o - e)) / e;
  }
  const df = observed.length - 1;
  return { statistic: stat, pValue: df > 0 ? chi2Sf(stat, df) : Number.NaN, df };
}

/** Category counts of both samples on one list of keys (every key seen in either). */
export function alignCounts(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): { keys: string[]; ref: number[]; cur: number[] } {
  const keys = [...new Set([...reference.keys(), ...current.keys()])].sort();
  return { keys, ref: keys.map((k) => reference.get(k) ?? 0), cur: keys.map((k) => current.get(k) ?? 0) };
}

const total = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0);

/**
 * Evidently's chi-squared drift test on category counts: the reference counts scaled to the current
 * total are the expected frequencies. A category only the current data has gives p = 0.
 */
export function chiSquareDrift(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): ChiSquareResult {
  const { ref, cur } = alignCounts(reference, current);
  const k = total(cur) / total(ref);
  return chiSquare(
    cur,
    ref.map((r) => r * k),
  );
}

/**
 * Evidently's two-proportion z-test for a two-valued column: the share of values other than the first
 * key (sorted) in each sample; p = 2 (1 - Φ(|z|)). One shared value on both sides is p = 1.
 */
export function zTestDrift(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): { statistic: number; pValue: number } {
  const { keys, ref, cur } = alignCounts(reference, current);
  const refNonZero = ref.filter((v) => v > 0).length;
  const curNonZero = cur.filter((v) => v > 0).length;
  if (refNonZero === 1 && curNonZero === 1 && keys.findIndex((_, i) => ref[i]! > 0) === keys.findIndex((_, i) => cur[i]! > 0)) {
    return { statistic: 0, pValue: 1 };
  }
  const n1 = total(ref);
  const n2 = total(cur);
  const p1 = (n1 - ref[0]!) / n1;
  const p2 = (n2 - cur[0]!) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: normalTwoSided(z) };
}

/** First Wasserstein distance between two samples: `scipy.stats.wasserstein_distance(u, v)`. */
export function wasserstein(u: readonly number[], v: readonly number[]): number {
  return wassersteinSorted(sorted(u), sorted(v));
}

/** `wasserstein` on samples already sorted ascending: the area between the two ECDFs, in one merge. */
export function wassersteinSorted(x: Float64Array, y: Float64Array): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  let prev = Math.min(x[0]!, y[0]!);
  while (i < x.length || j < y.length) {
    const at = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    sum += Math.abs(i / x.length - j / y.length) * (at - prev);
    while (i < x.length && x[i]! <= at) i++;
    while (j < y.length && y[j]! <= at) j++;
    prev = at;
  }
  return sum;
}

/** Distinct values of two ascending samples together, counted up to `limit` + 1 (enough to compare with a limit). */
export function distinctSorted(x: Float64Array, y: Float64Array, limit = Number.POSITIVE_INFINITY): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while ((i < x.length || j < y.length) && n <= limit) {
    const v = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < x.length && x[i]! === v) i++;
    while (j < y.length && y[j]! === v) j++;
    n++;
  }
  return n;
}

/** Sorted copy as a Float64Array. */
export function sortedCopy(xs: readonly number[]): Float64Array {
  return sorted(xs);
}

/** Population standard deviation (`np.std`). */
export function std(xs: readonly number[]): number {
  const mean = total(xs) / xs.length;
  let s = 0;
  for (const v of xs) s += (v - mean) * (v - mean);
  return Math.sqrt(s / xs.length);
}

/** Evidently's normed Wasserstein distance: divided by the reference's std (at least 0.001). */
export function wassersteinNormed(reference: readonly number[], current: readonly number[]): number {
  return wasserstein(reference, current) / Math.max(std(reference), 0.001);
}

/** Jensen-Shannon distance (natural log) between two weight vectors: `scipy.spatial.distance.jensenshannon(p, q)`. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const sp = total(p);
  const sq = total(q);
  let left = 0;
  let right = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]! / sp;
    const b = q[k]! / sq;
    const m = (a + b) / 2;
    if (a > 0) left += a * Math.log(a / m);
    if (b > 0) right += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, (left + right) / 2));
}

/** `np.histogram_bin_edges(values, bins='sturges')`: ceil(log2 n + 1) equal bins over [min, max]. */
export function sturgesEdges(values: readonly number[]): number[] {
  return sturgesEdgesOf(values, []);
}

/** `sturgesEdges` of two samples together, without concatenating them. */
export function sturgesEdgesOf(a: readonly number[], b: readonly number[]): number[] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const xs of [a, b]) {
    for (const v of xs) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return sturgesRange(lo, hi, a.length + b.length);
}

/** Sturges edges for `n` values spanning [lo, hi]. */
export function sturgesRange(lo: number, hi: number, n: number): number[] {
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  return equalEdges(lo, hi, Math.ceil(Math.log2(n) + 1));
}

/** `np.linspace(lo, hi, bins + 1)`: the last edge exactly `hi`. */
export function equalEdges(lo: number, hi: number, bins: number): number[] {
  const step = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + k * step);
  edges[bins] = hi;
  return edges;
}

/**
 * `np.histogram(values, edges)[0]`: half-open bins, the last one closed; values outside are dropped. Like
 * NumPy, the bin comes from arithmetic on equal-width edges, then is corrected against the edges themselves.
 */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  const first = edges[0]!;
  const last = edges[bins]!;
  const norm = bins / (last - first);
  for (const v of values) {
    if (!(v >= first) || !(v <= last)) continue;
    let k = Math.min(bins - 1, Math.floor((v - first) * norm));
    while (k > 0 && v < edges[k]!) k--;
    while (k < bins - 1 && v >= edges[k + 1]!) k++;
    counts[k]!++;
  }
  return counts;
}

/** Evidently's zero filling: empty bins get 1e-4 of a share (or a millionth of the smallest one when that is smaller). */
function fillZeroes(shares: number[]): number[] {
  const nonZero = shares.filter((s) => s !== 0);
  if (nonZero.length === 0) return shares;
  const min = Math.min(...nonZero);
  const fill = min <= 0.0001 ? min / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

export type Binned = { reference: number[]; current: number[] };

/**
 * Evidently's `get_binned_data`: a numeric column with more than 20 distinct reference values is cut at
 * Sturges edges over both samples together; anything else is compared value by value. Shares of each
 * sample's size, zeroes filled when `fillZero` (PSI), not for Jensen-Shannon.
 */
export function binnedShares(
  reference: readonly (number | string)[],
  current: readonly (number | string)[],
  numeric: boolean,
  fillZero: boolean,
  referenceDistinct?: number,
): Binned {
  let ref: number[];
  let cur: number[];
  if (numeric && (referenceDistinct ?? new Set(reference).size) > 20) {
    const edges = sturgesEdgesOf(reference as number[], current as number[]);
    ref = histogram(reference as number[], edges).map((c) => c / reference.length);
    cur = histogram(current as number[], edges).map((c) => c / current.length);
  } else {
    const { ref: r, cur: c } = alignCounts(countValues(reference), countValues(current));
    ref = r.map((v) => v / reference.length);
    cur = c.map((v) => v / current.length);
  }
  return fillZero ? { reference: fillZeroes(ref), current: fillZeroes(cur) } : { reference: ref, current: cur };
}

/** Counts of each value, keyed by its string form. */
export function countValues(values: readonly (number | string)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(String(v), (m.get(String(v)) ?? 0) + 1);
  return m;
}

/** Population stability index Σ (r - c) ln(r / c) over shares with no zero. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < reference.length; k++) s += (reference[k]! - current[k]!) * Math.log(reference[k]! / current[k]!);
  return s;
}

/** The usual PSI bands: below 0.1 no significant change, 0.1 to 0.25 moderate, 0.25 and above major. */
export function psiBand(value: number): 'none' | 'moderate' | 'major' {
  return value >= 0.25 ? 'major' : value >= 0.1 ? 'moderate' : 'none';
}

/** Shares of category counts over one key list: Evidently's categorical branch of `get_binned_data`. */
export function countShares(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>, fillZero: boolean): Binned & { keys: string[] } {
  const { keys, ref, cur } = alignCounts(reference, current);
  const nr = total(ref);
  const nc = total(cur);
  const r = ref.map((v) => v / nr);
  const c = cur.map((v) => v / nc);
  return fillZero ? { keys, reference: fillZeroes(r), current: fillZeroes(c) } : { keys, reference: r, current: c };
}

/**
 * Column-by-column drift between a reference profile and the current data's profile, decided the way
 * Evidently decides it by default (see `driftSchema`), plus PSI for every column and prediction drift.
 */
import { TfpipeError, parseSection } from '@tfpipe/core';
import type { PredictionProfile, Profile } from '../profile/profile.js';
import type { CategoricalProfile, ColumnProfile, NumericProfile } from '../profile/sketch.js';
import {
  binnedShares,
  chiSquareDrift,
  countShares,
  countValues,
  distinctSorted,
  histogram,
  jensenShannon,
  ks2sampSorted,
  psi,
  psiBand,
  sortedCopy,
  std,
  sturgesEdgesOf,
  wassersteinSorted,
  zTestDrift,
} from '../stats/tests.js';
import { CATEGORICAL_METHODS, DEFAULT_THRESHOLDS, P_VALUE_METHODS, driftSchema, type DriftConfig, type DriftInput, type DriftMethod } from './schema.js';

export interface SideSummary {
  count: number;
  missing: number;
  mean?: number;
  std?: number;
}

/** One bar group of the report's histogram: a bin (numbers) or a value (categories), as shares of each side. */
export interface PlotBin {
  label: string;
  reference: number;
  current: number;
}

export interface ColumnDrift {
  /** The column, or a derived check: `review.words`, `review.length`, `image.mean`, `prediction.confidence`. */
  column: string;
  kind: 'numeric' | 'categorical';
  method: DriftMethod;
  /** p-value (ks, chisquare, z) or distance (wasserstein, jensenshannon, psi). */
  score: number;
  /** The test statistic behind a p-value (KS D, chi-squared, z). */
  statistic?: number;
  threshold: number;
  drifted: boolean;
  psi: number;
  psiBand: 'none' | 'moderate' | 'major';
  reference: SideSummary;
  current: SideSummary;
  bins: PlotBin[];
}

export interface DriftReport {
  createdAt: string;
  reference: { rows: number; split: string; predictionsSplit?: string };
  current: { rows: number; source?: string };
  config: DriftConfig;
  /** Drifted first, the clearest drift first. */
  columns: ColumnDrift[];
  predictions: ColumnDrift[];
  notChecked: { column: string; reason: string }[];
  checked: number;
  drifted: number;
  driftShare: number;
  datasetDrift: boolean;
  predictionDrift: boolean;
  /** What the exit code reports: dataset drift, or prediction drift when `prediction: alarm`. */
  driftDetected: boolean;
  /** From a request log with feedback: the logged predictions' accuracy, and the run's test accuracy to compare. */
  feedback?: { labelled: number; correct: number; accuracy: number; reference?: number };
}

type Side = { kind: 'numeric'; profile: NumericProfile } | { kind: 'categorical'; counts: Map<string, number>; count: number; missing: number };

interface Check {
  column: string;
  reference: Side;
  current: Side;
}

function numericSide(p: NumericProfile): Side {
  return { kind: 'numeric', profile: p };
}

function categoricalSide(p: CategoricalProfile): Side {
  const counts = new Map(Object.entries(p.counts));
  if (p.other > 0) counts.set('(other)', p.other);
  return { kind: 'categorical', counts, count: p.count, missing: p.missing };
}

/** The checks one column gives: itself, or its derived numbers (text length and words, image channel means). */
function checksFor(name: string, ref: ColumnProfile, cur: ColumnProfile): Check[] | string {
  if (ref.kind === 'skipped') return ref.reason;
  if (cur.kind !== ref.kind) return `the current data has it as ${cur.kind}, the reference as ${ref.kind}`;
  if (ref.kind === 'numeric') return [{ column: name, reference: numericSide(ref), current: numericSide(cur as NumericProfile) }];
  if (ref.kind === 'categorical') return [{ column: name, reference: categoricalSide(ref), current: categoricalSide(cur as CategoricalProfile) }];
  if (ref.kind === 'text' && cur.kind === 'text') {
    // Words outside the reference's kept vocabulary are one bucket on both sides.
    const refWords = new Map(Object.entries(ref.tokens.top));
    if (ref.tokens.other > 0) refWords.set('(other)', ref.tokens.other);
    const curWords = new Map<string, number>();
    let curOther = cur.tokens.other;
    for (const [w, c] of Object.entries(cur.tokens.top)) {
      if (refWords.has(w) && w !== '(other)') curWords.set(w, c);
      else curOther += c;
    }
    if (curOther > 0) curWords.set('(other)', curOther);
    return [
      { column: `${name}.length`, reference: numericSide(ref.length), current: numericSide(cur.length) },
      {
        column: `${name}.words`,
        reference: { kind: 'categorical', counts: refWords, count: ref.tokens.total, missing: ref.missing },
        current: { kind: 'categorical', counts: curWords, count: cur.tokens.total, missing: cur.missing },
      },
    ];
  }
  if (ref.kind === 'image' && cur.kind === 'image') {
    if (cur.imageMeans.length !== ref.imageMeans.length) return `${cur.imageMeans.length} channels in the current data, ${ref.imageMeans.length} in the reference`;
    const one = ref.imageMeans.length === 1;
    return ref.imageMeans.map((m, c) => ({ column: one ? `${name}.mean` : `${name}.mean[${c}]`, reference: numericSide(m), current: numericSide(cur.imageMeans[c]!) }));
  }
  return `no drift test for ${ref.kind} columns`;
}

function summary(s: Side): SideSummary {
  if (s.kind === 'numeric') return { count: s.profile.count, missing: s.profile.missing, mean: s.profile.mean, std: s.profile.std };
  return { count: s.count, missing: s.missing };
}

const NUMERIC_ONLY: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein']);

function chooseMethod(check: Check, cfg: DriftConfig, distinct: number): DriftMethod {
  const override = cfg.columns[check.column]?.method;
  const configured = override ?? (check.reference.kind === 'numeric' ? cfg.numeric : cfg.categorical);
  if (configured !== 'auto') {
    if (check.reference.kind === 'categorical' && NUMERIC_ONLY.has(configured)) {
      const path = override ? ['columns', check.column, 'method'] : ['categorical'];
      throw TfpipeError.fromIssues([
        { path, message: `${check.column} is a category column; ${configured} needs numbers`, received: configured, expected: CATEGORICAL_METHODS.join(' | ') },
      ]);
    }
    return configured;
  }
  const small = refCount(check.reference) <= cfg.referenceRows;
  if (check.reference.kind === 'numeric' && distinct > 5) return small ? 'ks' : 'wasserstein';
  // Categories, and numbers with 5 or fewer distinct values.
  if (small) return distinct > 2 ? 'chisquare' : 'z';
  return 'jensenshannon';
}

function refCount(s: Side): number {
  return s.kind === 'numeric' ? s.profile.count : s.count;
}

const fmtEdge = (x: number) => String(Number(x.toPrecision(4)));

/** A reference sample sorted (and its std) once per profile, however many windows are checked against it. */
const sortedSamples = new WeakMap<readonly number[], { sorted: Float64Array; std: number }>();
function referenceSample(sample: readonly number[]): { sorted: Float64Array; std: number } {
  let s = sortedSamples.get(sample);
  if (!s) sortedSamples.set(sample, (s = { sorted: sortedCopy(sample), std: std(sample) }));
  return s;
}

function runCheck(check: Check, cfg: DriftConfig): ColumnDrift {
  const numeric = check.reference.kind === 'numeric' && check.current.kind === 'numeric';
  const a = numeric ? (check.reference as { profile: NumericProfile }).profile.sample : [];
  const b = numeric ? (check.current as { profile: NumericProfile }).profile.sample : [];
  const ref = numeric ? referenceSample(a) : undefined;
  const sa = ref?.sorted;
  const sb = numeric ? sortedCopy(b) : undefined;
  // Value counts only where values are few (value tests, value bars): numbers with many values never need them.
  const distinct = numeric ? distinctSorted(sa!, sb!, 20) : 0;
  const byValue = !numeric || distinct <= 20;
  const refCounts = numeric ? (byValue ? countValues(a) : new Map<string, number>()) : (check.reference as { counts: Map<string, number> }).counts;
  const curCounts = numeric ? (byValue ? countValues(b) : new Map<string, number>()) : (check.current as { counts: Map<string, number> }).counts;
  const method = chooseMethod(check, cfg, numeric ? distinct : new Set([...refCounts.keys(), ...curCounts.keys()]).size);
  const threshold = cfg.columns[check.column]?.threshold ?? cfg.threshold ?? DEFAULT_THRESHOLDS[method];

  let score: number;
  let statistic: number | undefined;
  const refDistinct = numeric ? distinctSorted(sa!, new Float64Array(0), 20) : 0;
  const shares = (fill: boolean) => (numeric ? binnedShares(a, b, true, fill, refDistinct) : countShares(refCounts, curCounts, fill));
  switch (method) {
    case 'ks': {
      const r = ks2sampSorted(sa!, sb!);
      score = r.pValue;
      statistic = r.statistic;
      break;
    }
    case 'wasserstein':
      score = wassersteinSorted(sa!, sb!) / Math.max(ref!.std, 0.001);
      break;
    case 'chisquare': {
      const r = chiSquareDrift(refCounts, curCounts);
      score = r.pValue;
      statistic = r.statistic;
      break;
    }
    case 'z': {
      const r = zTestDrift(refCounts, curCounts);
      score = r.pValue;
      statistic = r.statistic;
      break;
    }
    case 'jensenshannon': {
      const s = shares(false);
      score = jensenShannon(s.reference, s.current);
      break;
    }
    case 'psi': {
      const s = shares(true);
      score = psi(s.reference, s.current);
      break;
    }
  }
  const filled = shares(true);
  const psiValue = psi(filled.reference, filled.current);
  const drifted = P_VALUE_METHODS.has(method) ? score < threshold : score >= threshold;
  return {
    column: check.column,
    kind: check.reference.kind,
    method,
    score,
    ...(statistic !== undefined ? { statistic } : {}),
    threshold,
    drifted,
    psi: psiValue,
    psiBand: psiBand(psiValue),
    reference: summary(check.reference),
    current: summary(check.current),
    bins: byValue ? categoryBins(refCounts, curCounts) : numericBins(a, b),
  };
}

function numericBins(a: readonly number[], b: readonly number[]): PlotBin[] {
  const edges = sturgesEdgesOf(a, b);
  const ra = histogram(a, edges);
  const rb = histogram(b, edges);
  return ra.map((c, k) => ({ label: `${fmtEdge(edges[k]!)}–${fmtEdge(edges[k + 1]!)}`, reference: c / a.length, current: rb[k]! / b.length }));
}

/** Category shares, the 15 largest (on either side) kept and the rest summed as "(rest)". */
function categoryBins(ref: ReadonlyMap<string, number>, cur: ReadonlyMap<string, number>, keep = 15): PlotBin[] {
  const s = countShares(ref, cur, false);
  const rows = s.keys.map((k, i) => ({ label: k, reference: s.reference[i]!, current: s.current[i]! }));
  const numericKeys = rows.every((r) => r.label !== '' && Number.isFinite(Number(r.label)));
  rows.sort((x, y) => (numericKeys && rows.length <= keep ? Number(x.label) - Number(y.label) : Math.max(y.reference, y.current) - Math.max(x.reference, x.current)));
  if (rows.length <= keep) return rows;
  const rest = rows.slice(keep);
  return [...rows.slice(0, keep), { label: '(rest)', reference: rest.reduce((t, r) => t + r.reference, 0), current: rest.reduce((t, r) => t + r.current, 0) }];
}

/** How far past its threshold a check is, for ordering (larger is clearer drift). */
function severity(c: ColumnDrift): number {
  return P_VALUE_METHODS.has(c.method) ? c.threshold / Math.max(c.score, 1e-300) : c.score / c.threshold;
}

function sideEmpty(s: Side): boolean {
  return s.kind === 'numeric' ? s.profile.count === 0 : s.count === 0;
}

function predictionChecks(ref: PredictionProfile | undefined, cur: PredictionProfile | undefined): Check[] {
  if (!ref || !cur) return [];
  const out: Check[] = [];
  if (ref.label && cur.label) out.push({ column: 'prediction', reference: categoricalSide(ref.label), current: categoricalSide(cur.label) });
  if (ref.confidence && cur.confidence) out.push({ column: 'prediction.confidence', reference: numericSide(ref.confidence), current: numericSide(cur.confidence) });
  if (ref.value && cur.value) out.push({ column: 'prediction', reference: numericSide(ref.value), current: numericSide(cur.value) });
  return out;
}

/** Compares the current data's profile with the reference profile. */
export function detectDrift(reference: Profile, current: Profile, config: DriftInput | DriftConfig = {}, options: { source?: string } = {}): DriftReport {
  const cfg = parseSection(driftSchema, config, []);
  const columns: ColumnDrift[] = [];
  const notChecked: DriftReport['notChecked'] = [];
  const run = (checks: Check[], into: ColumnDrift[]) => {
    for (const check of checks) {
      if (sideEmpty(check.reference) || sideEmpty(check.current)) {
        notChecked.push({ column: check.column, reason: sideEmpty(check.reference) ? 'no reference values' : 'no current values' });
        continue;
      }
      into.push(runCheck(check, cfg));
    }
  };
  for (const [name, ref] of Object.entries(reference.columns)) {
    const cur = current.columns[name];
    if (!cur) {
      notChecked.push({ column: name, reason: 'not in the current data' });
      continue;
    }
    const checks = checksFor(name, ref, cur);
    if (typeof checks === 'string') notChecked.push({ column: name, reason: checks });
    else run(checks, columns);
  }
  const predictions: ColumnDrift[] = [];
  if (cfg.prediction !== 'off') run(predictionChecks(reference.predictions, current.predictions), predictions);

  const order = (x: ColumnDrift, y: ColumnDrift) => Number(y.drifted) - Number(x.drifted) || severity(y) - severity(x);
  columns.sort(order);
  predictions.sort(order);
  const drifted = columns.filter((c) => c.drifted).length;
  const driftShare = columns.length ? drifted / columns.length : 0;
  const datasetDrift = columns.length > 0 && driftShare >= cfg.share;
  const predictionDrift = predictions.some((p) => p.drifted);
  return {
    createdAt: new Date().toISOString(),
    reference: { rows: reference.rows, split: reference.split, ...(reference.predictions ? { predictionsSplit: reference.predictions.split } : {}) },
    current: { rows: current.rows, ...(options.source ? { source: options.source } : {}) },
    config: cfg,
    columns,
    predictions,
    notChecked,
    checked: columns.length,
    drifted,
    driftShare,
    datasetDrift,
    predictionDrift,
    driftDetected: datasetDrift || (cfg.prediction === 'alarm' && predictionDrift),
  };
}

import { didYouMean, type Issue, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import type { Evaluation } from './evaluation.js';

/** Thresholds on one metric: absolute (`min`, `max`) and against the baseline run (`maxDrop`, `maxRise`). */
export const thresholdSchema = z
  .object({
    min: z.number().optional().describe('fail when the value is below this'),
    max: z.number().optional().describe('fail when the value is above this'),
    maxDrop: z.number().min(0).optional().describe('fail when the value falls more than this below the baseline (needs `vs`)'),
    maxRise: z.number().min(0).optional().describe('fail when the value rises more than this above the baseline (needs `vs`)'),
  })
  .strict()
  .refine((t) => Object.keys(t).length > 0, { message: 'a gate needs at least one of min, max, maxDrop, maxRise' });

/**
 * `evaluate.gates`: `{ vs?: <baseline run dir>, <metric>: { min?, max?, maxDrop?, maxRise? }, ... }`.
 * Keys other than `vs` are metric names as they appear in the evaluation (including `loss`).
 */
export const gatesSchema = z
  .object({ vs: z.string().min(1).optional().describe('baseline run directory for maxDrop / maxRise, e.g. runs/previous') })
  .catchall(thresholdSchema)
  .describe('quality gates: the run fails when one does not pass');

export type Threshold = z.infer<typeof thresholdSchema>;
export type GatesConfig = z.infer<typeof gatesSchema>;

export interface GateResult {
  /** `<metric>.<kind>`, e.g. `accuracy.min`. */
  name: string;
  metric: string;
  kind: keyof Threshold;
  /** The metric's value in this evaluation. */
  value: number;
  threshold: number;
  /** The baseline's value, for maxDrop / maxRise. */
  baseline?: number;
  passed: boolean;
  /** `accuracy 0.971 < min 0.98` */
  message: string;
}

const KINDS = ['min', 'max', 'maxDrop', 'maxRise'] as const;

function thresholds(gates: GatesConfig): [string, Threshold][] {
  return Object.entries(gates).filter(([k]) => k !== 'vs') as [string, Threshold][];
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

/**
 * Config check, before anything runs: every gated metric must be computed (`metrics` plus `loss`),
 * and change thresholds need `vs`. Returns the issues (empty when fine).
 */
export function checkGatesConfig(gates: GatesConfig, metrics: readonly string[], path: (string | number)[] = ['evaluate', 'gates']): Issue[] {
  const known = ['loss', ...metrics];
  const issues: Issue[] = [];
  for (const [metric, t] of thresholds(gates)) {
    if (!known.includes(metric)) {
      const suggestion = didYouMean(metric, known);
      issues.push({
        path: [...path, metric],
        message: 'gate on a metric that is not computed; add it to evaluate.metrics or fix the name',
        received: metric,
        expected: known.map((k) => JSON.stringify(k)).join(' | '),
        ...(suggestion ? { suggestion } : {}),
      });
    }
    for (const k of ['maxDrop', 'maxRise'] as const) {
      if (t[k] !== undefined && gates.vs === undefined) {
        issues.push({ path: [...path, metric, k], message: `${k} compares with a baseline run; set evaluate.gates.vs`, received: t[k] });
      }
    }
  }
  return issues;
}

/** Evaluates every gate. A gated metric missing from the evaluation is E_CONFIG; change gates without a baseline are E_USAGE. */
export function checkGates(evaluation: Evaluation, gates: GatesConfig, baseline?: Evaluation): GateResult[] {
  const results: GateResult[] = [];
  for (const [metric, t] of thresholds(gates)) {
    const value = metricValue(evaluation, metric, 'evaluation');
    for (const kind of KINDS) {
      const threshold = t[kind];
      if (threshold === undefined) continue;
      const name = `${metric}.${kind}`;
      if (kind === 'min' || kind === 'max') {
        const passed = kind === 'min' ? value >= threshold : value <= threshold;
        const op = kind === 'min' ? (passed ? '>=' : '<') : passed ? '<=' : '>';
        results.push({ name, metric, kind, value, threshold, passed, message: `${metric} ${fmt(value)} ${op} ${kind} ${fmt(threshold)}` });
        continue;
      }
      if (!baseline) {
        throw new TfpipeError('E_USAGE', `gate ${name} compares with a baseline, but no baseline evaluation was given`, {
          hint: 'Pass the baseline run\'s evaluation (evaluate.gates.vs) as the third argument.',
        });
      }
      const base = metricValue(baseline, metric, 'baseline');
      const change = kind === 'maxDrop' ? base - value : value - base;
      const passed = change <= threshold;
      const verb = kind === 'maxDrop' ? 'dropped' : 'rose';
      results.push({
        name,
        metric,
        kind,
        value,
        threshold,
        baseline: base,
        passed,
        message: `${metric} ${verb} ${fmt(Math.max(0, change))} (${fmt(base)} -> ${fmt(value)}) ${passed ? '<=' : '>'} ${kind} ${fmt(threshold)}`,
      });
    }
  }
  // NaN compares false everywhere above, so an undefined metric never passes; say why.
  for (const r of results) if (Number.isNaN(r.value)) r.message = `${r.metric} is not defined on this data (NaN); gate ${r.name} fails`;
  return results;
}

function metricValue(e: Evaluation, metric: string, which: string): number {
  if (!(metric in e.metrics)) {
    const suggestion = didYouMean(metric, Object.keys(e.metrics));
    throw new TfpipeError('E_CONFIG', `gate on "${metric}", which the ${which} does not contain${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; it has ${Object.keys(e.metrics).join(', ')}`, {
      path: ['evaluate', 'gates', metric],
    });
  }
  const v = e.metrics[metric];
  // JSON turns NaN into null; read it back as NaN.
  return typeof v === 'number' ? v : Number.NaN;
}

/** An E_GATE error listing the failed gates, or undefined when all passed. */
export function gateError(results: readonly GateResult[]): TfpipeError | undefined {
  const failed = results.filter((r) => !r.passed);
  if (failed.length === 0) return undefined;
  return new TfpipeError('E_GATE', `${failed.length} gate(s) failed:\n${failed.map((r) => `  - ${r.message}`).join('\n')}`);
}

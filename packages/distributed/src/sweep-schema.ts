import { TfpipeError, didYouMean, zodIssues, type Issue } from '@tfpipe/core';
import { z } from 'zod';
import { checkPathExists, getPath } from './paths.js';
import { PARAM_KINDS, gridValues, paramSpecSchema } from './space.js';

/** `sweep.halving`: successive halving grows one config path (epochs, steps) rung by rung. */
export const halvingSchema = z
  .object({
    resource: z.string().default('train.epochs').describe('Config path of the budget each rung multiplies by `eta`.'),
    min: z.number().positive().describe('Resource of the first rung (e.g. 1 epoch).'),
    max: z.number().positive().describe('Resource of the last rung; rungs stop when the next would exceed it.'),
    eta: z.number().int().min(2).default(3).describe('Keep the best 1/eta of the points at each rung and give them eta times the resource.'),
  })
  .strict();

/** `sweep.retries`: how the queue executor retries a failing trial. */
export const retriesSchema = z
  .object({
    attempts: z.number().int().min(1).default(2).describe('Tries per trial, the first included.'),
    backoffMs: z.number().int().min(0).default(1000).describe('Delay before a retry (exponential: doubles each time).'),
  })
  .strict();

/** `sweep:` in a pipeline config. */
export const sweepSchema = z
  .object({
    method: z
      .enum(['grid', 'random', 'halving'])
      .default('grid')
      .describe('grid: every combination; random: `budget` seeded draws; halving: seeded successive halving.'),
    parameters: z
      .record(z.string(), paramSpecSchema)
      .default({})
      .describe('Config path → values: a list (grid), or { uniform | logUniform | int | choice }.'),
    budget: z.number().int().min(1).optional().describe('Most trials (points) to run. Required for random and halving.'),
    metric: z.string().min(1).describe('The metric a trial reports that ranks trials, e.g. val_accuracy.'),
    direction: z.enum(['max', 'min']).describe('Whether a bigger `metric` is better. Never guessed from the name.'),
    seed: z.number().int().min(0).optional().describe("Seeds sampling and each trial's seed; defaults to the config's `seed`, else 0."),
    kfold: z.number().int().min(2).optional().describe('Cross-validation: each point runs k trials (data.split.kfold) and reports mean ± std.'),
    halving: halvingSchema.optional().describe('Settings for method: halving.'),
    parallel: z.number().int().min(1).optional().describe('Trials at once in the local executor; defaults to one per core.'),
    retries: retriesSchema.default({ attempts: 2, backoffMs: 1000 }).describe('Retries of a failing trial on the queue.'),
    timeoutSeconds: z.number().positive().optional().describe('Fail the whole sweep when it runs longer than this.'),
    onTrialFailure: z
      .enum(['fail', 'continue'])
      .default('fail')
      .describe('fail: a trial that fails (after its retries) fails the sweep; continue: record it and go on.'),
  })
  .strict();

export type SweepConfig = z.output<typeof sweepSchema>;
export type SweepInput = z.input<typeof sweepSchema>;

/**
 * The config paths a k-fold trial sets, as @tfpipe/data's split reads them: `data.split.kfold: k`,
 * `data.split.fold: i`, and `data.split.validation: 0` when the base config has a validation fraction
 * (with k-fold the validation rows are the fold).
 */
export const KFOLD_PATHS = { k: 'data.split.kfold', fold: 'data.split.fold', validation: 'data.split.validation' } as const;

/**
 * Validates `sweep:` against the schema and against the base config it sweeps: every parameter path must
 * exist there (pass the fully defaulted config). Throws E_CONFIG with every problem found.
 */
export function parseSweep(input: unknown, baseConfig: unknown, prefix: (string | number)[] = ['sweep']): SweepConfig {
  const issues: Issue[] = [];
  const parsed = sweepSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    for (const zi of parsed.error.issues) issues.push(...toIssues(zi, input, prefix));
    throw TfpipeError.fromIssues(issues);
  }
  const sweep = parsed.data;
  for (const path of Object.keys(sweep.parameters)) {
    const issue = checkPathExists(baseConfig, path, [...prefix, 'parameters', path]);
    if (issue) issues.push(issue);
  }
  const paramCount = Object.keys(sweep.parameters).length;
  if (sweep.method === 'grid') {
    for (const [path, spec] of Object.entries(sweep.parameters)) {
      if (!gridValues(spec)) {
        issues.push({
          path: [...prefix, 'parameters', path],
          message: 'a grid needs a list of values; a continuous distribution has none',
          received: spec,
          expected: 'a list, { int: [a, b] } or { choice: [...] } (or set sweep.method: random)',
        });
      }
    }
  } else {
    if (sweep.budget === undefined) {
      issues.push({ path: [...prefix, 'budget'], message: `method ${sweep.method} needs a budget`, expected: 'an integer >= 1' });
    }
    if (paramCount === 0) {
      issues.push({ path: [...prefix, 'parameters'], message: `method ${sweep.method} needs parameters to draw`, received: {} });
    }
  }
  if (sweep.method === 'halving') {
    if (!sweep.halving) {
      issues.push({ path: [...prefix, 'halving'], message: 'method halving needs halving settings', expected: '{ resource, min, max, eta }' });
    } else {
      const h = sweep.halving;
      if (h.max < h.min) issues.push({ path: [...prefix, 'halving', 'max'], message: 'must be >= halving.min', received: h.max });
      const missing = checkPathExists(baseConfig, h.resource, [...prefix, 'halving', 'resource']);
      if (missing) issues.push(missing);
      else if (typeof getPath(baseConfig, h.resource) !== 'number') {
        issues.push({
          path: [...prefix, 'halving', 'resource'],
          message: `"${h.resource}" must hold a number in the config`,
          received: getPath(baseConfig, h.resource),
        });
      }
      if (h.resource in sweep.parameters) {
        issues.push({ path: [...prefix, 'parameters', h.resource], message: 'the halving resource cannot also be swept', received: h.resource });
      }
    }
  } else if (sweep.halving) {
    issues.push({ path: [...prefix, 'halving'], message: 'halving settings need method: halving', received: sweep.method });
  }
  if (sweep.kfold !== undefined) {
    for (const p of Object.values(KFOLD_PATHS)) {
      if (p in sweep.parameters) issues.push({ path: [...prefix, 'parameters', p], message: 'kfold sets this path itself; do not sweep it too', received: p });
    }
  }
  if (issues.length) throw TfpipeError.fromIssues(issues);
  return sweep;
}

const SPEC_HELP = 'a list of values, or one of { uniform: [a, b] }, { logUniform: [a, b] }, { int: [a, b] }, { choice: [...] }';

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p as string] : undefined;
  return v;
}

/** One zod issue → our Issues, through core's converter; a parameter spec gets its own, more precise, explanation. */
function toIssues(zi: z.core.$ZodIssue, input: unknown, prefix: (string | number)[]): Issue[] {
  if (zi.code === 'invalid_union' && zi.path[0] === 'parameters') {
    return [paramSpecIssue(valueAt(input, zi.path), [...prefix, ...(zi.path as (string | number)[])])];
  }
  return zodIssues([zi], sweepSchema, prefix, input);
}

/** Why a parameter spec is not one of the accepted forms, as precisely as can be said. */
function paramSpecIssue(value: unknown, path: (string | number)[]): Issue {
  if (Array.isArray(value)) return { path, message: 'a list of grid values must not be empty', received: value, expected: SPEC_HELP };
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    const kind = keys.length === 1 ? keys[0]! : undefined;
    if (kind && !(PARAM_KINDS as readonly string[]).includes(kind)) {
      const suggestion = didYouMean(kind, PARAM_KINDS);
      return { path, message: `unknown distribution "${kind}"`, received: value, expected: SPEC_HELP, ...(suggestion ? { suggestion } : {}) };
    }
    if (kind) {
      const r = paramSpecSchema.safeParse(value);
      const inner = r.success ? undefined : r.error.issues[0];
      const innerMsg =
        inner?.code === 'invalid_union'
          ? (inner.errors.flat().find((e) => e.code !== 'invalid_type' || e.path.length > 0)?.message ?? inner.message)
          : inner?.message;
      return {
        path,
        message: `${kind}: ${innerMsg ?? 'invalid bounds'}`,
        received: (value as Record<string, unknown>)[kind],
        expected: kind === 'choice' ? 'a non-empty list' : kind === 'int' ? '[low, high], integers, low <= high' : '[low, high], low < high',
      };
    }
  }
  return { path, message: 'not a parameter spec', received: value, expected: SPEC_HELP };
}

/** The parsed sweep: `sweep` if given, else the config's `sweep:`; validated against the config. */
export function resolveSweep(config: unknown, sweep?: unknown): SweepConfig {
  const input = sweep ?? (config as { sweep?: unknown } | undefined)?.sweep;
  if (input === undefined) {
    throw new TfpipeError('E_CONFIG', 'the config has no `sweep:` section', { path: ['sweep'], hint: 'Add sweep: { parameters, metric, direction }.' });
  }
  return parseSweep(input, config);
}

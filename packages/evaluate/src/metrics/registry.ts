import { createRegistry, type Direction, type Issue, parseSection, type Registry, TfpipeError, type TaskSpec } from '@tfpipe/core';
import { builtinMetrics } from './builtins.js';
import type { EvalMetric, MetricEntry } from './metric.js';

export type MetricRegistry = Registry<MetricEntry>;

/** A metric as written in YAML: its name, or `{ type, name?, ...options }` (e.g. `{ type: topKAccuracy, k: 3 }`). */
export type MetricSpec = string | ({ type: string; name?: string } & Record<string, unknown>);

/** A fresh registry holding the built-in metrics. */
export function createMetricRegistry(): MetricRegistry {
  return createRegistry<MetricEntry>('metric', builtinMetrics());
}

/** The key a metric is reported under: `name` if given, else its type. */
export function metricName(spec: MetricSpec): string {
  return typeof spec === 'string' ? spec : (spec.name ?? spec.type);
}

/**
 * Builds a streaming metric by name for a task. Unknown names throw E_UNKNOWN_TYPE with the nearest
 * known name; a metric that does not fit the task, or bad options, throw E_CONFIG.
 */
export function createMetric(spec: MetricSpec, task: TaskSpec, registry: MetricRegistry = createMetricRegistry(), path: (string | number)[] = []): EvalMetric {
  const type = typeof spec === 'string' ? spec : spec.type;
  const e = registry.get(type, typeof spec === 'string' ? path : [...path, 'type']);
  if (!e.tasks.includes(task.kind)) {
    const issue: Issue = {
      path,
      message: `metric "${type}" is not defined for a ${task.kind} task`,
      received: type,
      expected: `a metric for ${task.kind}: ${metricsFor(task, registry).join(', ')}`,
    };
    throw new TfpipeError('E_CONFIG', `metric "${type}" is not defined for a ${task.kind} task (it handles ${e.tasks.join(', ')})`, { path, issues: [issue] });
  }
  const parsed = parseSection(e.schema, typeof spec === 'string' ? { type } : spec, path);
  try {
    return e.create(task, parsed as Record<string, unknown>);
  } catch (err) {
    if (err instanceof TfpipeError && err.issues.length > 0) {
      const issues = err.issues.map((i) => ({ ...i, path: [...path, ...i.path] }));
      throw new TfpipeError(err.code, err.message, { path, issues, cause: err });
    }
    throw err;
  }
}

/** The names of the registered metrics defined for a task. */
export function metricsFor(task: TaskSpec, registry: MetricRegistry = createMetricRegistry()): string[] {
  return registry.entries().filter((e) => e.tasks.includes(task.kind)).map((e) => e.type);
}

/**
 * Whether higher ('max') or lower ('min') is better for a metric name as it appears in logs and
 * evaluations: a registered type, `loss`, or either with the trainer's `val_` prefix.
 */
export function metricDirection(name: string, registry: MetricRegistry = createMetricRegistry()): Direction {
  const base = name.startsWith('val_') ? name.slice(4) : name;
  if (base === 'loss') return 'min';
  return registry.get(base, ['metrics']).direction;
}

/** The metrics evaluated when the config names none. */
export function defaultMetrics(task: TaskSpec): string[] {
  switch (task.kind) {
    case 'multiclass':
      return ['accuracy', 'balancedAccuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc', 'ece'];
    case 'binary':
      return ['accuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc', 'prAuc', 'ece'];
    case 'multilabel':
      return ['accuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc'];
    case 'regression':
      return ['mse', 'rmse', 'mae', 'r2'];
  }
}

/** Checks a metrics list against a task without throwing: unknown names, wrong task, bad options, duplicates. */
export function checkMetrics(specs: readonly MetricSpec[], task: TaskSpec, registry: MetricRegistry = createMetricRegistry(), path: (string | number)[] = ['evaluate', 'metrics']): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const name = metricName(spec);
    if (seen.has(name) || name === 'loss') {
      issues.push({ path: [...path, i], message: name === 'loss' ? '"loss" is always reported; it is not a metric to list' : 'metric listed twice', received: name });
    }
    seen.add(name);
    try {
      createMetric(spec, task, registry, [...path, i]);
    } catch (e) {
      if (!(e instanceof TfpipeError)) throw e;
      issues.push(...(e.issues.length > 0 ? e.issues : [{ path: [...path, i], message: e.message, received: spec }]));
    }
  });
  return issues;
}

import type { Issue, TaskSpec } from '@tfpipe/core';
import { z } from 'zod';
import { checkGatesConfig, gatesSchema } from './gates.js';
import { checkMetrics, createMetricRegistry, defaultMetrics, type MetricRegistry, type MetricSpec, metricName } from './metrics/registry.js';
import { reportSchema } from './report/options.js';

/** A metric: its name, or `{ type, name?, ...options }` (options are checked against the metric's own schema). */
export const metricSpecSchema = z.union([
  z.string().min(1),
  z.looseObject({ type: z.string().min(1), name: z.string().min(1).optional() }),
]);

/** The `evaluate:` section of a pipeline. */
export const evaluateSchema = z
  .object({
    metrics: z
      .array(metricSpecSchema)
      .optional()
      .describe('metrics to compute; default by task (see defaultMetrics): multiclass accuracy, balancedAccuracy, precision, recall, f1, logLoss, rocAuc, ece'),
    gates: gatesSchema.optional(),
    report: reportSchema.default({ html: true, png: true }),
    worst: z.number().int().min(0).max(1000).default(16).describe('how many worst examples to keep and show'),
    calibrationBins: z.number().int().min(1).max(1000).default(10).describe('reliability bins in the calibration section'),
  })
  .strict()
  .describe('evaluation on the test split: metrics, gates and the report');

export type EvaluateConfig = z.infer<typeof evaluateSchema>;

/** The metrics a config asks for, with the task's defaults filled in. */
export function resolveMetrics(config: Pick<EvaluateConfig, 'metrics'>, task: TaskSpec): MetricSpec[] {
  return (config.metrics as MetricSpec[] | undefined) ?? defaultMetrics(task);
}

/**
 * Cross-field check of a parsed `evaluate` section against the task: every metric exists and fits the
 * task, and every gate names a computed metric. Returns issues (empty when fine).
 */
export function checkEvaluateConfig(config: EvaluateConfig, task: TaskSpec, options: { registry?: MetricRegistry; path?: (string | number)[] } = {}): Issue[] {
  const path = options.path ?? ['evaluate'];
  const registry = options.registry ?? createMetricRegistry();
  const metrics = resolveMetrics(config, task);
  const issues = checkMetrics(metrics, task, registry, [...path, 'metrics']);
  if (config.gates) issues.push(...checkGatesConfig(config.gates, metrics.map(metricName), [...path, 'gates']));
  return issues;
}

import type { Batch, TaskSpec } from '@tfpipe/core';
import { type Evaluation, evaluateModel, type MetricSpec, type Predictor } from '@tfpipe/evaluate';

export interface BeforeAfter {
  before: Evaluation;
  after: Evaluation;
  /** after − before for every scalar metric both have (loss included). */
  delta: Record<string, number>;
}

/**
 * Evaluates the model before fine-tuning and the tuned one on the same test batches (`data` is called once
 * for each) and returns both evaluations and the change of each metric, for evaluation.json and the report
 * (evaluate's writeReport takes `before`).
 */
export async function compareBeforeAfter(
  baseModel: Predictor,
  tunedModel: Predictor,
  data: () => AsyncIterable<Batch>,
  options: { task: TaskSpec; metrics?: MetricSpec[]; labels?: string[] },
): Promise<BeforeAfter> {
  const opts = { task: options.task, ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.labels ? { labels: options.labels } : {}) };
  const before = await evaluateModel(baseModel, data, opts);
  const after = await evaluateModel(tunedModel, data, opts);
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.metrics)) {
    const b = before.metrics[k];
    if (b !== undefined) delta[k] = v - b;
  }
  return { before, after, delta };
}

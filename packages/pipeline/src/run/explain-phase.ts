import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Logger, type TaskSpec, writeJsonAtomic } from '@tfpipe/core';
import type { Dataset, Row } from '@tfpipe/data';
import { createMetric, type MetricSpec, metricName, resolveMetrics } from '@tfpipe/evaluate';
import { type ExplainConfig, type Explanation, explainRows, vocabularies } from '@tfpipe/explain';
import type { Preprocessor, Tensorizer } from '@tfpipe/preprocess';

export const EXPLANATION_JSON = 'explanation.json';

/** Metrics that are not one number cannot rank columns. */
const NOT_SCALAR = new Set(['confusionMatrix', 'calibration']);

/** The permutation metric: `explain.metric`, else the first scalar metric of `evaluate.metrics`. */
export function explainMetric(explain: ExplainConfig, evaluate: { metrics?: unknown }, task: TaskSpec): MetricSpec {
  if (explain.metric) return explain.metric;
  const specs = resolveMetrics(evaluate as Parameters<typeof resolveMetrics>[0], task);
  return specs.find((s) => !NOT_SCALAR.has(metricName(s))) ?? (task.kind === 'regression' ? 'rmse' : 'accuracy');
}

/** `explain:` of a run: explains the model on the test split and writes `explanation.json`. */
export async function explainTestSplit(
  runDir: string,
  ctx: {
    explain: ExplainConfig;
    evaluate: { metrics?: unknown };
    model: tfl.LayersModel;
    pre: Preprocessor;
    tz: Tensorizer;
    test: Dataset<Row>;
    seed: number;
    logger: Logger;
  },
): Promise<Explanation> {
  const task = ctx.tz.task;
  const spec = explainMetric(ctx.explain, ctx.evaluate, task);
  createMetric(spec, task, undefined, ['explain', 'metric']); // fails early, with the YAML path, on an unknown metric
  const rows = await ctx.test.take(ctx.explain.maxRows).toArray();
  const explanation = await explainRows({
    model: ctx.model,
    tensorizer: ctx.tz,
    rows,
    preprocess: (r) => ctx.pre.transform(r),
    metric: () => createMetric(spec, task),
    vocab: vocabularies(ctx.pre.toJSON()),
    config: ctx.explain,
    seed: ctx.seed,
    logger: ctx.logger,
  });
  await writeJsonAtomic(join(runDir, EXPLANATION_JSON), explanation);
  ctx.logger.info(`explain: ${explanation.examples.length} example(s)${explanation.importance ? `, importance of ${explanation.importance.importances.length} column(s)` : ''} → ${EXPLANATION_JSON}`);
  return explanation;
}

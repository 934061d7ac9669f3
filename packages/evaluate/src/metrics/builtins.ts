import { TfpipeError, type TaskSpec } from '@tfpipe/core';
import { z } from 'zod';
import { type Average, averagedPrf, ClassCounts, type PrfKind } from './counts.js';
import { entry, expectKind, makeMetric, type MetricEntry, type TaskKind } from './metric.js';
import { Calibration, inTopK, sampleLogLoss, WeightedMean } from './probabilistic.js';
import { macroArea, prFromSweep, rankedClasses, rocFromSweep, ScoreStore } from './ranking.js';
import { type RegressionKind, RegressionSums } from './regression.js';

const CLASSIFICATION: readonly TaskKind[] = ['multiclass', 'binary'];
const ANY_CLASSIFICATION: readonly TaskKind[] = ['multiclass', 'binary', 'multilabel'];

/** `{ type: <name>, name?: string, ...options }`, strict. */
function optionsSchema(type: string, options: z.ZodRawShape = {}) {
  return z
    .object({
      type: z.literal(type),
      name: z.string().min(1).optional().describe('the key this metric is reported under; default: its type'),
      ...options,
    })
    .strict();
}

/** Number of classes a ClassCounts needs for the task. */
function classCount(task: TaskSpec): number {
  if (task.kind === 'binary') return 2;
  if (task.kind === 'regression') return 0;
  return task.classes;
}

const accuracy = entry({
  type: 'accuracy',
  direction: 'max',
  tasks: ANY_CLASSIFICATION,
  description: 'Fraction of samples whose argmax (binary: p > 0.5) is the true class; multilabel: elementwise.',
  schema: optionsSchema('accuracy'),
  create(task, o) {
    const c = new ClassCounts(classCount(task));
    return makeMetric((o.name as string) ?? 'accuracy', 'max', task, { add: (v) => c.add(v), value: () => c.accuracy(), reset: () => c.reset() });
  },
});

const balancedAccuracy = entry({
  type: 'balancedAccuracy',
  direction: 'max',
  tasks: CLASSIFICATION,
  description: 'Mean recall over the classes present in yTrue (scikit-learn balanced_accuracy_score).',
  schema: optionsSchema('balancedAccuracy'),
  create(task, o) {
    const c = new ClassCounts(classCount(task));
    return makeMetric((o.name as string) ?? 'balancedAccuracy', 'max', task, {
      add: (v) => c.add(v),
      value: () => c.balancedAccuracy(),
      reset: () => c.reset(),
    });
  },
});

const averageSchema = z
  .enum(['macro', 'micro', 'weighted', 'binary'])
  .optional()
  .describe('default: binary (the positive class) for binary tasks, macro otherwise');

function prfEntry(kind: PrfKind, fixed?: Exclude<Average, 'binary'>): MetricEntry {
  const type = fixed ? `${kind}${fixed[0]!.toUpperCase()}${fixed.slice(1)}` : kind;
  return entry({
    type,
    direction: 'max',
    tasks: ANY_CLASSIFICATION,
    description: `${kind === 'f1' ? 'F1' : kind[0]!.toUpperCase() + kind.slice(1)}, ${fixed ? `${fixed}-averaged` : 'averaged as `average` says'} (scikit-learn conventions, zero_division=0).`,
    schema: fixed ? optionsSchema(type) : optionsSchema(type, { average: averageSchema }),
    create(task, o) {
      const average: Average = fixed ?? (o.average as Average | undefined) ?? (task.kind === 'binary' ? 'binary' : 'macro');
      if (average === 'binary' && task.kind !== 'binary') {
        throw new TfpipeError('E_CONFIG', `metric "${type}": average "binary" needs a binary task; this task is ${task.kind}`, {
          issues: [{ path: ['average'], message: 'average "binary" needs a binary task', received: 'binary', expected: '"macro" | "micro" | "weighted"' }],
        });
      }
      const c = new ClassCounts(classCount(task));
      return makeMetric((o.name as string) ?? type, 'max', task, {
        add: (v) => c.add(v),
        value: () => averagedPrf(c, kind, average),
        reset: () => c.reset(),
      });
    },
  });
}

const topKAccuracy = entry({
  type: 'topKAccuracy',
  direction: 'max',
  tasks: ['multiclass'],
  description: 'Fraction of samples whose true class is among the k highest scores (ties count as in, as tf.math.in_top_k).',
  schema: optionsSchema('topKAccuracy', { k: z.number().int().min(1).default(5).describe('how many top classes count') }),
  create(task, o) {
    const k = (o.k as number | undefined) ?? 5;
    const classes = classCount(task);
    if (k >= classes) {
      throw new TfpipeError('E_CONFIG', `metric "topKAccuracy": k=${k} is not below the ${classes} classes, so it would always be 1`, {
        issues: [{ path: ['k'], message: 'k must be below the number of classes', received: k, expected: `an integer in [1, ${classes - 1}]` }],
      });
    }
    const mean = new WeightedMean((v, i) => inTopK(expectKind(v, ['class'], 'topKAccuracy'), i, k));
    return makeMetric((o.name as string) ?? 'topKAccuracy', 'max', task, mean);
  },
});

const logLoss = entry({
  type: 'logLoss',
  direction: 'min',
  tasks: ANY_CLASSIFICATION,
  description: 'Mean cross-entropy, -log p(true class), probabilities clipped to [1e-7, 1 - 1e-7].',
  schema: optionsSchema('logLoss'),
  create(task, o) {
    return makeMetric((o.name as string) ?? 'logLoss', 'min', task, new WeightedMean(sampleLogLoss));
  },
});

function areaEntry(type: 'rocAuc' | 'prAuc'): MetricEntry {
  return entry({
    type,
    direction: 'max',
    tasks: ANY_CLASSIFICATION,
    description:
      type === 'rocAuc'
        ? 'Area under the ROC curve (binary: positive class; otherwise one-vs-rest, macro over classes that have both positives and negatives). Exact: keeps every score in memory.'
        : 'Average precision (scikit-learn average_precision_score; binary: positive class; otherwise one-vs-rest macro). Exact: keeps every score in memory.',
    schema: optionsSchema(type),
    create(task, o) {
      const store = new ScoreStore();
      const curves = () =>
        rankedClasses(store, task.kind === 'binary').map((c) => {
          const s = store.sweep(c);
          return type === 'rocAuc' ? { cls: c, area: rocFromSweep(s).auc } : { cls: c, area: prFromSweep(s).ap };
        });
      return makeMetric((o.name as string) ?? type, 'max', task, {
        add: (v) => store.add(v),
        value: () => macroArea(curves().map((c) => c.area)),
        reset: () => store.reset(),
        details: curves,
      });
    },
  });
}

const confusionMatrix = entry({
  type: 'confusionMatrix',
  direction: 'max',
  tasks: CLASSIFICATION,
  description: 'The k x k confusion matrix (rows: true, columns: predicted) in details(); result() is its diagonal share (accuracy).',
  schema: optionsSchema('confusionMatrix'),
  create(task, o) {
    const c = new ClassCounts(classCount(task));
    return makeMetric((o.name as string) ?? 'confusionMatrix', 'max', task, {
      add: (v) => c.add(v),
      value: () => c.accuracy(),
      reset: () => c.reset(),
      details: () => c.toRows(),
    });
  },
});

function calibrationEntry(type: 'calibration' | 'ece'): MetricEntry {
  return entry({
    type,
    direction: 'min',
    tasks: CLASSIFICATION,
    description: 'Expected calibration error over equal-width bins of top-label confidence; details() gives the reliability bins.',
    schema: optionsSchema(type, { bins: z.number().int().min(1).max(1000).default(10).describe('number of equal-width confidence bins') }),
    create(task, o) {
      const cal = new Calibration((o.bins as number | undefined) ?? 10);
      return makeMetric((o.name as string) ?? type, 'min', task, {
        add: (v) => cal.add(v),
        value: () => cal.ece(),
        reset: () => cal.reset(),
        details: () => cal.table(),
      });
    },
  });
}

const REGRESSION: Record<RegressionKind, { direction: 'max' | 'min'; description: string }> = {
  mse: { direction: 'min', description: 'Mean squared error.' },
  rmse: { direction: 'min', description: 'Root mean squared error (per output, then averaged).' },
  mae: { direction: 'min', description: 'Mean absolute error.' },
  mape: { direction: 'min', description: 'Mean absolute percentage error, in percent (|y| floored at 1e-7), as Keras.' },
  r2: { direction: 'max', description: 'Coefficient of determination (constant target: 1 if perfect, else 0, as scikit-learn).' },
  explainedVariance: { direction: 'max', description: '1 - Var(y - yhat) / Var(y) (constant target as r2).' },
};

const regressionEntries = (Object.keys(REGRESSION) as RegressionKind[]).map((kind) =>
  entry({
    type: kind,
    direction: REGRESSION[kind].direction,
    tasks: ['regression'],
    description: REGRESSION[kind].description,
    schema: optionsSchema(kind),
    create(task, o) {
      const sums = new RegressionSums();
      return makeMetric((o.name as string) ?? kind, REGRESSION[kind].direction, task, {
        add: (v) => sums.add(v),
        value: () => sums.value(kind),
        reset: () => sums.reset(),
      });
    },
  }),
);

/** Every built-in metric, in the order the README lists them. */
export function builtinMetrics(): MetricEntry[] {
  const prf: MetricEntry[] = [];
  for (const kind of ['precision', 'recall', 'f1'] as const) {
    prf.push(prfEntry(kind));
    for (const avg of ['macro', 'micro', 'weighted'] as const) prf.push(prfEntry(kind, avg));
  }
  return [
    accuracy,
    balancedAccuracy,
    ...prf,
    topKAccuracy,
    logLoss,
    areaEntry('rocAuc'),
    areaEntry('prAuc'),
    confusionMatrix,
    calibrationEntry('calibration'),
    calibrationEntry('ece'),
    ...regressionEntries,
  ];
}

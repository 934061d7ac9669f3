import type { TaskSpec } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';
import type { LoadedRun } from '@tfpipe/pipeline';
import type { Prediction } from '@tfpipe/preprocess';

/** One prediction as served and written by `pipeline predict`: the class with its name and index, or the value. */
export type ServedPrediction =
  | { label: string; class: number; probabilities: Record<string, number> }
  | { labels: string[]; probabilities: Record<string, number> }
  | { value: number | number[] };

/** The class names in output order, as the tensorizer decodes them. */
export function classNames(task: TaskSpec): string[] {
  switch (task.kind) {
    case 'multiclass':
    case 'multilabel':
      return task.labels ?? Array.from({ length: task.classes }, (_, i) => String(i));
    case 'binary':
      return task.labels ?? ['0', '1'];
    case 'regression':
      return [];
  }
}

/** Adds the class index to a decoded single-label prediction. */
export function servePrediction(p: Prediction, names: readonly string[]): ServedPrediction {
  if ('label' in p) return { label: p.label, class: names.indexOf(p.label), probabilities: p.probabilities };
  return p;
}

/** Predicts raw rows with a run (its own preprocessing, the evaluation path), `chunk` rows per model call. */
export async function predictRows(run: LoadedRun, rows: Row[], chunk: number): Promise<ServedPrediction[]> {
  const names = classNames(run.metadata.task);
  const out: ServedPrediction[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const preds = await run.predict(rows.slice(i, i + chunk));
    for (const p of preds as Prediction[]) out.push(servePrediction(p, names));
  }
  return out;
}

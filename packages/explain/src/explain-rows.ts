import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createRng, type Logger, parseSection, type StreamingMetric, silentLogger, type TaskSpec, type Tensors } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';
import type { Tensorizer } from '@tfpipe/preprocess';
import { gradCam } from './grad-cam.js';
import { allLayers } from './hooks.js';
import { disposeAttributions, integratedGradients } from './integrated-gradients.js';
import { type PermutationImportance, permutationImportance } from './permutation.js';
import { type ExplainConfig, type ExplainInput, explainSchema } from './schema.js';

/** Attributions of one example, in the user's terms: per column, per token, per pixel. */
export interface ExampleExplanation {
  /** Position of the example in the explained rows. */
  index: number;
  label?: string;
  predicted: string;
  /** Probability of the predicted class (or the predicted value for regression). */
  confidence: number;
  /** The explained class. */
  target: string;
  /** Integrated gradients' completeness gap, relative. */
  gap?: number;
  /** The explained output at the example and at the baseline: attributions add up to their difference. */
  output?: number;
  baselineOutput?: number;
  /** Tabular inputs: one attribution per original column (one-hot and vector slots summed back). */
  columns?: Record<string, number>;
  /** Text inputs: one attribution per token, with its text when the run's vocabulary is known. */
  tokens?: Record<string, { token: string; id: number; value: number }[]>;
  /** Image inputs: the pixels and the attribution map [h, w] (summed over channels), each row-major. */
  images?: Record<string, { shape: number[]; pixels: number[]; attribution?: number[]; gradCam?: number[] }>;
}

/** What `explainRows` returns and `explanation.json` holds. */
export interface Explanation {
  format: 'tfpipe.explanation';
  version: 1;
  config: ExplainConfig;
  importance?: PermutationImportance & { metric: string };
  examples: ExampleExplanation[];
}

export interface ExplainRowsOptions {
  model: tfl.LayersModel;
  tensorizer: Tensorizer;
  /** Test rows as the source gives them (before preprocessing): importance is per original column. */
  rows: readonly Row[];
  /** The run's preprocessing of one row (Preprocessor.transform). */
  preprocess?: (row: Row) => Row;
  /** The permutation metric (a fresh one per score), e.g. evaluate's createMetric. */
  metric?: () => StreamingMetric;
  /** Token vocabularies per preprocessed column (id = index + 2), see `vocabularies`. */
  vocab?: Record<string, string[]>;
  config?: ExplainInput;
  seed?: number;
  batchSize?: number;
  logger?: Logger;
  /** false for new data without labels: no permutation importance, the first `examples` rows, no `label`. */
  withLabels?: boolean;
}

function predictAll(model: tfl.LayersModel, xs: Tensors): tf.Tensor {
  const ordered = xs instanceof tf.Tensor ? xs : model.inputLayers.map((l) => (xs as Record<string, tf.Tensor>)[l.name]!);
  return model.predictOnBatch(ordered) as tf.Tensor;
}

function asRecord(model: tfl.LayersModel, xs: Tensors): Record<string, tf.Tensor> {
  if (!(xs instanceof tf.Tensor)) return xs;
  return { [model.inputLayers[0]?.name ?? 'input']: xs };
}

function classNames(task: TaskSpec, k: number): string[] {
  if (task.kind === 'binary') return task.labels ?? ['0', '1'];
  return 'labels' in task && task.labels ? task.labels : Array.from({ length: k }, (_, i) => String(i));
}

/**
 * Explains a model on rows, in the user's terms: permutation importance per original column (through the run's
 * preprocessing), and integrated gradients / Grad-CAM for selected examples, per column, token or pixel.
 */
export async function explainRows(options: ExplainRowsOptions): Promise<Explanation> {
  const config = parseSection(explainSchema, options.config ?? {}, ['explain']);
  const log = options.logger ?? silentLogger;
  const { model, tensorizer } = options;
  const prep = options.preprocess ?? ((r: Row) => r);
  const task = tensorizer.task;
  const bs = options.batchSize ?? 256;
  const rows = options.rows.slice(0, config.maxRows);
  const prepared = rows.map(prep);
  const out: Explanation = { format: 'tfpipe.explanation', version: 1, config, examples: [] };

  const labelled = options.withLabels !== false;
  if (labelled && config.methods.includes('permutation') && options.metric && rows.length >= 2) {
    const columns = tensorizer
      .inputColumns()
      .flatMap((i) => i.columns.map((c) => c.column))
      .filter((c) => c in rows[0]!);
    const metricName = options.metric().name;
    const score = (rs: readonly Row[]) => {
      const metric = options.metric!();
      for (let i = 0; i < rs.length; i += bs) {
        const batch = tensorizer.toBatch(rs.slice(i, i + bs).map(prep));
        tf.tidy(() => metric.update(batch.ys as tf.Tensor, predictAll(model, batch.xs)));
        tf.dispose(batch as unknown as tf.TensorContainer);
      }
      return metric.result();
    };
    log.info(`explain: permutation importance of ${columns.length} column(s) × ${config.repeats} on ${rows.length} rows`);
    const imp = await permutationImportance(rows, {
      columns,
      score,
      direction: options.metric().direction,
      repeats: config.repeats,
      seed: options.seed ?? 0,
      onProgress: (done, total) => log.debug?.(`explain: permutation ${done}/${total}`),
    });
    out.importance = { ...imp, metric: metricName };
  }

  const wantIg = config.methods.includes('integrated-gradients');
  const wantCam = config.methods.includes('grad-cam') && allLayers(model).some((l) => /Conv2D$/.test(l.getClassName()));
  if (config.examples === 0 || (!wantIg && !wantCam) || rows.length === 0) return out;

  // Predictions and true-class probabilities of every row, to choose the examples.
  const probs: number[][] = [];
  const truth: number[] = [];
  for (let i = 0; i < prepared.length; i += bs) {
    const batch = tensorizer.toBatch(prepared.slice(i, i + bs), { withLabels: labelled });
    const p = tf.tidy(() => predictAll(model, batch.xs));
    probs.push(...(p.arraySync() as number[][]));
    if (labelled) {
      const y = (batch as { ys: tf.Tensor }).ys;
      truth.push(...(task.kind === 'multiclass' ? tf.tidy(() => Array.from(tf.argMax(y, 1).dataSync())) : Array.from(y.dataSync())));
    }
    tf.dispose([p, batch as unknown as tf.TensorContainer]);
  }
  const chosen = labelled
    ? selectExamples(config, task, probs, truth, options.seed ?? 0)
    : probs.slice(0, config.examples).map((_, i) => i);
  const names = classNames(task, probs[0]?.length ?? 1);
  const layout = tensorizer.inputColumns();
  const specs = tensorizer.inputs;
  // Images and token sequences are one column each: results are keyed by that column, as the user named it.
  const columnOf = (input: string) => layout.find((l) => l.input === input)?.columns[0]?.column ?? input;

  for (const index of chosen) {
    const batch = tensorizer.toBatch([prepared[index]!], { withLabels: false });
    const xs = asRecord(model, batch.xs);
    // The tensorizer's input names are the model's (buildModel names them so); a one-input model may differ.
    const pick = <T>(rec: Record<string, T>, name: string): T | undefined =>
      rec[name] ?? (specs.length === 1 ? Object.values(rec)[0] : undefined);
    const p = probs[index]!;
    const k = p.length;
    const pred = k === 1 ? (p[0]! > 0.5 ? 1 : 0) : p.indexOf(Math.max(...p));
    const ex: ExampleExplanation = {
      index,
      ...(task.kind === 'regression' || !labelled ? {} : { label: names[truth[index]!] ?? String(truth[index]) }),
      predicted: task.kind === 'regression' ? String(p[0]) : names[pred]!,
      confidence: k === 1 ? (task.kind === 'binary' ? (pred === 1 ? p[0]! : 1 - p[0]!) : p[0]!) : p[pred]!,
      // Binary: the one output is "class 1"; multiclass: the predicted class.
      target: task.kind === 'binary' ? names[1]! : task.kind === 'regression' ? 'output' : names[pred]!,
    };
    const target = k === 1 ? 0 : pred;
    if (wantIg) {
      const r = integratedGradients(model, xs, {
        steps: config.steps,
        method: config.integration,
        baseline: config.baseline === 'blur' && specs.some((s) => s.kind === 'image') ? 'blur' : 'zeros',
        logits: config.logits && task.kind !== 'regression',
        target,
      });
      ex.gap = r.gap[0]!;
      ex.output = r.outputs[0]!;
      ex.baselineOutput = r.baselineOutputs[0]!;
      for (const spec of specs) {
        const a = pick(r.attributions, spec.name);
        if (!a) continue;
        const values = Array.from(a.dataSync());
        if (spec.kind === 'tabular') {
          const cols = layout.find((l) => l.input === spec.name)?.columns ?? [];
          ex.columns ??= {};
          for (const c of cols) ex.columns[c.column] = values.slice(c.offset, c.offset + c.size).reduce((s, v) => s + v, 0);
        } else if (spec.dtype === 'int32') {
          const ids = Array.from(pick(xs, spec.name)!.dataSync());
          const column = columnOf(spec.name);
          const vocab = options.vocab?.[column];
          ex.tokens ??= {};
          ex.tokens[column] = ids
            .map((id, t) => ({ id, token: tokenText(id, vocab), value: values[t]! }))
            .filter((t) => t.id !== 0);
        } else if (spec.kind === 'image') {
          ex.images ??= {};
          ex.images[columnOf(spec.name)] = { ...imageOf(pick(xs, spec.name)!), attribution: channelSum(values, spec.shape) };
        }
      }
      disposeAttributions(r);
    }
    if (wantCam) {
      const r = gradCam(model, xs, { target, ...(config.layer ? { layer: config.layer } : {}) });
      const heat = Array.from(r.heatmap.dataSync());
      r.heatmap.dispose();
      const image = specs.find((s) => s.kind === 'image');
      if (image) {
        ex.images ??= {};
        const key = columnOf(image.name);
        ex.images[key] = { ...(ex.images[key] ?? imageOf(pick(xs, image.name)!)), gradCam: heat };
      }
    }
    tf.dispose(batch as unknown as tf.TensorContainer);
    out.examples.push(ex);
  }
  return out;
}

function tokenText(id: number, vocab: string[] | undefined): string {
  if (id === 1) return '<unk>';
  return vocab?.[id - 2] ?? `#${id}`;
}

function imageOf(t: tf.Tensor): { shape: number[]; pixels: number[] } {
  return { shape: t.shape.slice(1), pixels: Array.from(t.dataSync()) };
}

/** [h, w, c] values → [h, w] summed over channels. */
function channelSum(values: number[], shape: number[]): number[] {
  const c = shape[2] ?? 1;
  if (c === 1) return values;
  const out = new Array<number>(values.length / c).fill(0);
  for (let i = 0; i < values.length; i++) out[Math.floor(i / c)]! += values[i]!;
  return out;
}

/** The indices to explain: most wrong first, a seeded random draw, or round-robin over true classes. */
export function selectExamples(
  config: Pick<ExplainConfig, 'examples' | 'select'>,
  task: TaskSpec,
  probs: number[][],
  truth: number[],
  seed: number,
): number[] {
  const n = probs.length;
  const k = Math.min(config.examples, n);
  const idx = Array.from({ length: n }, (_, i) => i);
  if (config.select === 'random' || task.kind === 'regression' || task.kind === 'multilabel') {
    const rng = createRng(seed);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, k).sort((a, b) => a - b);
  }
  const trueProb = (i: number) => {
    const p = probs[i]!;
    return p.length === 1 ? (truth[i] === 1 ? p[0]! : 1 - p[0]!) : p[truth[i]!]!;
  };
  if (config.select === 'most-wrong') return idx.sort((a, b) => trueProb(a) - trueProb(b) || a - b).slice(0, k);
  const byClass = new Map<number, number[]>();
  for (const i of idx) byClass.set(truth[i]!, [...(byClass.get(truth[i]!) ?? []), i]);
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  for (let round = 0; out.length < k; round++) {
    let added = false;
    for (const c of classes) {
      const list = byClass.get(c)!;
      if (round < list.length && out.length < k) {
        out.push(list[round]!);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

/** Token vocabularies per column from a preprocessor's saved state (`preprocess.json`): id = index + 2. */
export function vocabularies(state: { transforms?: { config: { type: string }; state: unknown }[] }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of state.transforms ?? []) {
    const vocab = (t.state as { vocab?: Record<string, string[]> } | null)?.vocab;
    if (t.config.type === 'tokenize' && vocab) Object.assign(out, vocab);
  }
  return out;
}

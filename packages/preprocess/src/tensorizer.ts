import * as tf from '@tensorflow/tfjs-core';
import { TfpipeError, type Batch, type InputSpec, type TaskSpec, type Tensors, parseSection, } from '@tfpipe/core';
import { type ColumnInfo, type Row, type Value, rowOrigin } from './_row.js';
import type { Column } from './columns.js';
import { type FeaturesConfig, type FeaturesInput, featuresSchema, type InputLayout, layoutInputs } from './features.js';
import { fitLabels, type LabelState, labelColumns, labelsWithoutFit, missingLabel } from './labels.js';
import { type TargetScaling, scaleTarget, unscaleTarget, unscaleTensor } from './target-scaling.js';
import { isMissing } from './transform.js';

/** One decoded prediction. */
export type Prediction =
  | { label: string; probabilities: Record<string, number> }
  | { labels: string[]; probabilities: Record<string, number> }
  | { value: number | number[] };

/** What `toJSON` writes (`tensorizer.json`). */
export interface TensorizerState {
  format: 'tfpipe.tensorizer';
  version: 1;
  spec: FeaturesConfig;
  columns: Column[];
  labels?: LabelState;
}

/** Picks the featuresSchema keys out of a wider object (e.g. the whole `data:` section) and validates them. */
function parseSpec(spec: FeaturesInput | FeaturesConfig | Record<string, unknown>, base: (string | number)[]): FeaturesConfig {
  const keys = Object.keys(featuresSchema.shape);
  const picked = Object.fromEntries(Object.entries(spec).filter(([k]) => keys.includes(k)));
  return parseSection(featuresSchema, picked, base);
}

/** Rows → tensors for one model: fills one typed array per input, encodes labels learnt on the training split. */
export class Tensorizer {
  readonly spec: FeaturesConfig;
  readonly columns: Column[];
  private readonly layouts: InputLayout[];
  private readonly labelCols: Column[];
  private labels: LabelState | undefined;
  private classIndex: Map<string, number> | undefined;

  constructor(spec: FeaturesInput | FeaturesConfig | Record<string, unknown>, columns: readonly (Column | ColumnInfo)[], options: { path?: (string | number)[] } = {}) {
    const base = options.path ?? ['data'];
    this.spec = parseSpec(spec, base);
    this.columns = columns.map((c) => ({ ...c }));
    let layouts: InputLayout[] = [];
    let labelCols: Column[] = [];
    const issues = [];
    // Collect the problems of features and label together: one error lists them all.
    for (const step of [() => (layouts = layoutInputs(this.spec, this.columns, base)), () => (labelCols = labelColumns(this.spec, this.columns, base))]) {
      try {
        step();
      } catch (e) {
        if (e instanceof TfpipeError && e.code === 'E_CONFIG') issues.push(...e.issues);
        else throw e;
      }
    }
    if (issues.length) throw TfpipeError.fromIssues(issues);
    this.layouts = layouts;
    this.labelCols = labelCols;
    this.setLabels(labelsWithoutFit(this.spec, labelCols));
  }

  /** The model inputs, in order (names are the `inputs:` keys, or "features"). */
  get inputs(): InputSpec[] {
    return this.layouts.map((l) => ({ ...l.spec, shape: [...l.spec.shape] }));
  }

  /** Which columns fill each model input, and where (offset, size in the per-sample buffer): maps attributions back to columns. */
  inputColumns(): { input: string; columns: { column: string; offset: number; size: number }[] }[] {
    return this.layouts.map((l) => ({ input: l.spec.name, columns: l.slots.map((s) => ({ column: s.column, offset: s.offset, size: s.size })) }));
  }

  /** The task, known after fit (or before it when the config fixes it). */
  get task(): TaskSpec {
    if (!this.labels) {
      throw new TfpipeError('E_USAGE', 'The task and classes are learnt by Tensorizer.fit(trainRows); call it first', { hint: 'Or fix them with data.task and data.classes.' });
    }
    return structuredClone(this.labels.task);
  }

  get fitted(): boolean {
    return this.labels !== undefined;
  }

  /** Learns the class names (or decides the auto task) on the training split, in one pass. */
  async fit(rows: () => AsyncIterable<Row>): Promise<void> {
    this.setLabels(await fitLabels(this.spec, this.labelCols, rows()));
  }

  /** One batch. xs: one tensor per input (a record when `inputs:` names several). ys only with labels. The caller disposes. */
  toBatch(rows: readonly Row[]): Batch;
  toBatch(rows: readonly Row[], options: { withLabels: false }): { xs: Tensors };
  toBatch(rows: readonly Row[], options: { withLabels?: boolean; scaleTargets?: boolean }): Batch | { xs: Tensors };
  /**
   * `scaleTargets: false` keeps regression targets in their original units (evaluation compares them with
   * `unscale(model output)`); training batches are scaled (the default).
   */
  toBatch(rows: readonly Row[], options: { withLabels?: boolean; scaleTargets?: boolean } = {}): Batch | { xs: Tensors } {
    const n = rows.length;
    if (n === 0) throw new TfpipeError('E_USAGE', 'toBatch needs at least one row');
    // Build every typed array before making any tensor, so a bad row leaks nothing.
    const xsData = this.layouts.map((l) => this.fillInput(l, rows));
    const ysData = options.withLabels === false ? undefined : this.fillLabels(rows, options.scaleTargets !== false);
    const xsList = this.layouts.map((l, i) => tf.tensor(xsData[i]!, [n, ...l.spec.shape], l.spec.dtype ?? 'float32'));
    const xs: Tensors = this.spec.features ? xsList[0]! : Object.fromEntries(this.layouts.map((l, i) => [l.spec.name, xsList[i]!]));
    if (!ysData) return { xs };
    return { xs, ys: tf.tensor2d(ysData.data, [n, ysData.width], 'float32') };
  }

  private fillInput(l: InputLayout, rows: readonly Row[]): Float32Array | Int32Array {
    const int = l.spec.dtype === 'int32';
    const buf = int ? new Int32Array(rows.length * l.size) : new Float32Array(rows.length * l.size);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const base = r * l.size;
      for (const s of l.slots) {
        const v = row[s.column];
        if (typeof v === 'number' && s.size === 1 && !Number.isNaN(v)) buf[base + s.offset] = v;
        else if (typeof v === 'boolean' && s.size === 1) buf[base + s.offset] = v ? 1 : 0;
        else if ((v instanceof Float32Array || v instanceof Uint8Array) && v.length === s.size) buf.set(v, base + s.offset);
        else throw badValue(s.column, r, v, s.size, rowOrigin(row));
      }
    }
    return buf;
  }

  /** Regression: how targets are scaled for training (fitted by `fit`); undefined otherwise. */
  get targetScaling(): TargetScaling | undefined {
    return this.labels?.scaling;
  }

  /** Model outputs [n, k] in original units (regression targets scaled back); a new tensor, the caller disposes it. */
  unscale(yPred: tf.Tensor): tf.Tensor {
    return unscaleTensor(this.labels?.scaling, yPred);
  }

  private fillLabels(rows: readonly Row[], scaled: boolean): { data: Float32Array; width: number } {
    const task = this.task;
    const n = rows.length;
    if (task.kind === 'multiclass' || task.kind === 'binary') {
      const width = task.kind === 'multiclass' ? task.classes : 1;
      const data = new Float32Array(n * width);
      const col = this.labelCols[0]!.name;
      for (let r = 0; r < n; r++) {
        const v = rows[r]![col];
        if (isMissing(v)) throw missingLabel(col, r, rowOrigin(rows[r]));
        const idx = this.classIndex!.get(String(v));
        if (idx === undefined) {
          const known = this.labels!.keys!;
          throw new TfpipeError('E_DATA', `Row ${r}: label ${JSON.stringify(String(v))} of column "${col}" is not a class learnt on the training split`, {
            path: [col],
            issues: [{ path: [col], message: `unknown class in row ${r}`, received: v, expected: known.map((k) => JSON.stringify(k)).join(' | ') }],
            hint: 'Fix the class list with data.classes, or make sure every class occurs in the training split (stratified split).',
          });
        }
        if (task.kind === 'multiclass') data[r * width + idx] = 1;
        else data[r] = idx;
      }
      return { data, width };
    }
    const width = task.kind === 'regression' ? task.outputs : task.classes;
    const data = new Float32Array(n * width);
    for (let r = 0; r < n; r++) {
      let o = r * width;
      for (const c of this.labelCols) {
        const v = rows[r]![c.name];
        if (isMissing(v)) throw missingLabel(c.name, r, rowOrigin(rows[r]));
        if (typeof v === 'number') data[o++] = v;
        else if (typeof v === 'boolean') data[o++] = v ? 1 : 0;
        else if (v instanceof Float32Array || v instanceof Uint8Array) {
          data.set(v, o);
          o += v.length;
        } else throw badValue(c.name, r, v, 1, rowOrigin(rows[r]));
      }
    }
    const scaling = this.labels?.scaling;
    if (scaled && scaling && task.kind === 'regression') {
      for (let k = 0; k < data.length; k++) data[k] = scaleTarget(scaling, k % width, data[k]!);
    }
    return { data, width };
  }

  /** Model outputs [n, k] → one prediction per row. Reads the tensor; does not dispose it. */
  decode(yPred: tf.Tensor): Prediction[] {
    const task = this.task;
    const n = yPred.shape[0] ?? 1;
    const width = yPred.size / n;
    const p = yPred.dataSync();
    const out: Prediction[] = [];
    for (let r = 0; r < n; r++) {
      const row = Array.from(p.subarray(r * width, (r + 1) * width));
      if (task.kind === 'multiclass') {
        const labels = task.labels ?? Array.from({ length: task.classes }, (_, i) => String(i));
        let best = 0;
        for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
        out.push({ label: labels[best]!, probabilities: Object.fromEntries(labels.map((l, i) => [l, row[i]!])) });
      } else if (task.kind === 'binary') {
        const [neg, pos] = task.labels ?? ['0', '1'];
        const q = row[0]!;
        out.push({ label: q >= 0.5 ? pos! : neg!, probabilities: { [neg!]: 1 - q, [pos!]: q } });
      } else if (task.kind === 'multilabel') {
        const labels = task.labels ?? Array.from({ length: task.classes }, (_, i) => String(i));
        out.push({ labels: labels.filter((_, i) => row[i]! >= 0.5), probabilities: Object.fromEntries(labels.map((l, i) => [l, row[i]!])) });
      } else {
        const scaling = this.labels?.scaling;
        const values = scaling ? row.map((z, i) => unscaleTarget(scaling, i, z)) : row;
        out.push({ value: task.outputs === 1 ? values[0]! : values });
      }
    }
    return out;
  }

  toJSON(): TensorizerState {
    return { format: 'tfpipe.tensorizer', version: 1, spec: this.spec, columns: this.columns, ...(this.labels ? { labels: this.labels } : {}) };
  }

  static fromJSON(state: unknown): Tensorizer {
    const s = state as Partial<TensorizerState>;
    if (s?.format !== 'tfpipe.tensorizer' || s.version !== 1 || !s.spec || !Array.isArray(s.columns)) {
      throw new TfpipeError('E_IO', 'Not a tfpipe tensorizer state (expected format "tfpipe.tensorizer", version 1)', {
        issues: [{ path: ['format'], message: 'unrecognised tensorizer state', received: s?.format, expected: '"tfpipe.tensorizer" version 1' }],
      });
    }
    const t = new Tensorizer(s.spec, s.columns);
    if (s.labels) t.setLabels(s.labels);
    return t;
  }

  private setLabels(labels: LabelState | undefined): void {
    this.labels = labels;
    this.classIndex = labels?.keys ? new Map(labels.keys.map((k, i) => [k, i])) : undefined;
  }
}

/** Rows → tensors for the given preprocessed columns; validates every column name (did-you-mean) and kind. */
export function createTensorizer(spec: FeaturesInput | FeaturesConfig | Record<string, unknown>, columns: readonly (Column | ColumnInfo)[]): Tensorizer {
  return new Tensorizer(spec, columns);
}

function badValue(column: string, row: number, v: Value | undefined, size: number, origin?: string): TfpipeError {
  const expected = size === 1 ? 'a number or boolean' : `a Float32Array or Uint8Array of ${size} values`;
  const missing = isMissing(v);
  return new TfpipeError('E_DATA', `${origin ?? `Row ${row}`}: column "${column}" ${missing ? 'is missing' : 'has a value the model input cannot take'}; expected ${expected}`, {
    path: [column],
    issues: [{ path: [column], message: `bad value in ${origin ?? `row ${row}`}`, received: v instanceof Float32Array || v instanceof Uint8Array ? `${v.constructor.name}(${v.length})` : v, expected }],
    ...(missing ? { hint: 'Add an impute transform for this column.' } : {}),
  });
}

import { TfpipeError, type Issue, type TaskSpec } from '@tfpipe/core';
import { type Row, type Value, rowOrigin } from './_row.js';
import { sortKeys } from './_stats.js';
import { type Column, columnSize, findColumn, kindIssue } from './columns.js';
import type { FeaturesConfig } from './features.js';
import { type TargetScaling, type TargetScalingMode, TargetStats } from './target-scaling.js';
import { isMissing } from './transform.js';

/** The fitted label encoding; `keys[i]` is String(value) of class i (classification tasks). */
export interface LabelState {
  task: TaskSpec;
  keys?: string[];
  /** Regression: how targets were scaled for training (inverted in every prediction). */
  scaling?: TargetScaling;
}

/** The scaling mode of each model output (a label column's mode repeated over its width). */
export function scalingModes(spec: FeaturesConfig, cols: readonly Column[]): TargetScalingMode[] {
  const conf = spec.targetScaling ?? 'standardize';
  const out: TargetScalingMode[] = [];
  for (const c of cols) {
    const mode = typeof conf === 'string' ? conf : (conf[c.name] ?? 'standardize');
    for (let i = 0; i < Math.max(1, columnSize(c)); i++) out.push(mode);
  }
  return out;
}

/** The label columns, validated (unknown names, kinds). */
export function labelColumns(spec: FeaturesConfig, columns: readonly Column[], base: (string | number)[]): Column[] {
  const names = typeof spec.label === 'string' ? [spec.label] : spec.label;
  const issues: Issue[] = [];
  const out: Column[] = [];
  names.forEach((n, i) => {
    const p = typeof spec.label === 'string' ? [...base, 'label'] : [...base, 'label', i];
    const c = findColumn(columns, n, p, issues);
    if (!c) return;
    if (c.kind === 'image' || (c.kind === 'vector' && (c.shape?.length ?? 0) !== 1)) issues.push(kindIssue(c, p, 'a number, string, boolean or [k] vector column', 'a label'));
    else if (names.length > 1 && c.kind !== 'number' && c.kind !== 'boolean') issues.push(kindIssue(c, p, 'number or boolean columns (one per output)', 'a label list'));
    else out.push(c);
  });
  if (typeof spec.label === 'string' && out[0]?.kind === 'vector' && ['classification', 'binary'].includes(spec.task)) {
    issues.push(kindIssue(out[0], [...base, 'label'], 'a scalar column', `task ${spec.task}`));
  }
  if (names.length > 1 && (spec.task === 'classification' || spec.task === 'binary')) {
    issues.push({ path: [...base, 'task'], message: 'several label columns need task multilabel, regression or auto', received: spec.task });
  }
  if (issues.length) throw TfpipeError.fromIssues(issues);
  return out;
}

/** The label state when no data is needed to know it, else undefined (fit decides). */
export function labelsWithoutFit(spec: FeaturesConfig, cols: Column[]): LabelState | undefined {
  const width = cols.reduce((a, c) => a + columnSize(c), 0);
  const multi = cols.length > 1 || cols[0]!.kind === 'vector';
  const classNames = spec.classes?.map(String);
  if (spec.task === 'regression') return { task: { kind: 'regression', outputs: width } };
  if (spec.task === 'multilabel' || (spec.task === 'auto' && cols.length > 1 && cols.every((c) => c.kind === 'boolean'))) {
    const labels = cols.length > 1 ? cols.map((c) => c.name) : (classNames ?? Array.from({ length: width }, (_, i) => String(i)));
    return { task: { kind: 'multilabel', classes: width, labels } };
  }
  if (multi) return undefined; // auto over numbers: 0/1 values → multilabel, else regression
  const c = cols[0]!;
  if (classNames) {
    const binary = spec.task === 'binary' || (spec.task === 'auto' && classNames.length === 2);
    return classTask(binary, classNames);
  }
  if (c.kind === 'boolean' && spec.task !== 'classification') return classTask(true, ['false', 'true']);
  return undefined;
}

function classTask(binary: boolean, keys: string[]): LabelState {
  if (binary && keys.length !== 2) {
    throw new TfpipeError('E_DATA', `task binary needs exactly 2 classes; found ${keys.length}: ${keys.slice(0, 10).join(', ')}`, {
      issues: [{ path: ['data', 'task'], message: 'binary needs exactly 2 classes', received: keys.slice(0, 10), expected: '2 classes' }],
    });
  }
  if (!binary && keys.length < 2) {
    throw new TfpipeError('E_DATA', `classification needs at least 2 classes; the training split has ${keys.length}`, {
      issues: [{ path: ['data', 'label'], message: 'fewer than 2 classes in the training split', received: keys, expected: 'at least 2 classes' }],
    });
  }
  return binary ? { task: { kind: 'binary', labels: keys }, keys } : { task: { kind: 'multiclass', classes: keys.length, labels: keys }, keys };
}

/** One pass over the (preprocessed) training rows: learns classes or decides the auto task. */
export async function fitLabels(spec: FeaturesConfig, cols: Column[], rows: AsyncIterable<Row>): Promise<LabelState> {
  const known = labelsWithoutFit(spec, cols);
  const modes = scalingModes(spec, cols);
  const wantsScaling = modes.some((m) => m !== 'none');
  if (known && !(known.task.kind === 'regression' && wantsScaling)) return known;
  // Statistics for regression targets, gathered in the same pass (used only if the task is regression).
  const stats = new TargetStats(modes);
  const withScaling = (state: LabelState): LabelState => (state.task.kind === 'regression' && wantsScaling ? { ...state, scaling: stats.finish() } : state);
  const multi = cols.length > 1 || cols[0]!.kind === 'vector';
  const distinct = new Map<string, Value>();
  let allInt = true;
  let allBinary = true;
  let n = 0;
  for await (const row of rows) {
    n++;
    let out = 0;
    for (const c of cols) {
      const v = row[c.name];
      if (isMissing(v)) throw missingLabel(c.name, n - 1, rowOrigin(row));
      if (v instanceof Float32Array || v instanceof Uint8Array) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] !== 0 && v[i] !== 1) allBinary = false;
          if (wantsScaling) stats.update(out + i, v[i]!, c.name);
        }
        out += v.length;
        continue;
      }
      if (wantsScaling && typeof v === 'number') stats.update(out, v, c.name);
      out++;
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) allInt = false;
        if (v !== 0 && v !== 1) allBinary = false;
      }
      const k = String(v);
      // Past the auto limit the exact set no longer matters for numbers.
      if (!(typeof v === 'number' && distinct.size > spec.maxAutoClasses)) distinct.set(k, v);
    }
  }
  if (known) return withScaling(known);
  const width = cols.reduce((a, c) => a + columnSize(c), 0);
  if (multi) {
    return allBinary && n > 0
      ? { task: { kind: 'multilabel', classes: width, labels: cols.length > 1 ? cols.map((c) => c.name) : Array.from({ length: width }, (_, i) => String(i)) } }
      : withScaling({ task: { kind: 'regression', outputs: width } });
  }
  const c = cols[0]!;
  if (c.kind === 'number' && spec.task === 'auto' && (!allInt || distinct.size > spec.maxAutoClasses)) return withScaling({ task: { kind: 'regression', outputs: 1 } });
  if (c.kind === 'number' && !allInt) {
    throw new TfpipeError('E_DATA', `task ${spec.task} needs integer or string labels; column "${c.name}" has fractional values`, {
      issues: [{ path: ['data', 'task'], message: 'fractional labels cannot be classes', received: spec.task, expected: 'regression (or integer labels)' }],
    });
  }
  const keys = classKeys(c, distinct);
  const binary = spec.task === 'binary' || (spec.task === 'auto' && keys.length === 2);
  return classTask(binary, keys);
}

/** Integer labels starting at 0 keep their values as class indices (0..max); anything else is sorted. */
function classKeys(c: Column, distinct: Map<string, Value>): string[] {
  if (c.kind === 'boolean') return ['false', 'true'];
  const values = [...distinct.values()];
  if (values.length > 0 && values.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0) && values.some((v) => v === 0)) {
    const max = Math.max(...(values as number[]));
    return Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  return sortKeys(distinct.keys());
}

/** A missing label, named by the file's line when the source recorded it (`rowOrigin`), else by row index. */
export function missingLabel(column: string, row: number, origin?: string): TfpipeError {
  const where = origin ?? `Row ${row}`;
  return new TfpipeError('E_DATA', `${where}: the label column "${column}" is missing`, {
    path: [column],
    issues: [{ path: [column], message: `missing label in ${origin ?? `row ${row}`}`, received: null, expected: 'a label value' }],
    hint: 'Filter rows without labels out of the data, or impute the label column.',
  });
}

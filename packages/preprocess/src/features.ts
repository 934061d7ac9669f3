import { z } from 'zod';
import { TfpipeError, type InputSpec, type Issue } from '@tfpipe/core';
import { type Column, columnSize, findColumn, kindIssue } from './columns.js';
import { targetScalingSchema } from './target-scaling.js';

/**
 * `data.features` / `data.inputs` / `data.label` / `data.task` / `data.classes` in the YAML. A plain strict
 * object (no refinements) so the pipeline can spread its `.shape` into `data:`; the cross-field checks
 * (features xor inputs, columns exist, label not a feature) run in `createTensorizer`.
 */
export const featuresSchema = z
  .object({
    features: z.array(z.string().min(1)).min(1).optional().describe('Columns of the one model input (give this or `inputs`).'),
    inputs: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _'), z.array(z.string().min(1)).min(1))
      .optional()
      .describe('Named model inputs for multi-input models, e.g. { image: [image], tabular: [a, b], text: [review] }.'),
    label: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('The label column, or several (multilabel or multi-output regression).'),
    task: z
      .enum(['auto', 'classification', 'binary', 'regression', 'multilabel'])
      .default('auto')
      .describe(
        'auto: boolean labels → binary; strings → classification (binary for 2 classes); integers with at most maxAutoClasses distinct values → classification; other numbers → regression.',
      ),
    classes: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(2)
      .optional()
      .describe('Fixes the class order (index i is classes[i]); otherwise learnt from the training split.'),
    maxAutoClasses: z.number().int().min(2).default(20).describe('task auto: integer labels with more distinct values than this are regression.'),
    targetScaling: targetScalingSchema,
  })
  .strict();

export type FeaturesConfig = z.output<typeof featuresSchema>;
export type FeaturesInput = z.input<typeof featuresSchema>;

/** Where one column's scalars go in an input's per-sample buffer. */
export interface Slot {
  column: string;
  kind: Column['kind'];
  offset: number;
  size: number;
}

/** One model input: its InputSpec and how rows fill it. */
export interface InputLayout {
  spec: InputSpec;
  slots: Slot[];
  /** Scalars per sample. */
  size: number;
}

const STRING_HINT = 'a number, boolean, vector or image column (encode strings with one-hot, label-encode, tokenize or bag-of-words first)';

/** Builds the input layouts from the spec and the preprocessed columns, collecting every problem. */
export function layoutInputs(spec: FeaturesConfig, columns: readonly Column[], base: (string | number)[]): InputLayout[] {
  const issues: Issue[] = [];
  const groups: { name: string; cols: string[]; path: (string | number)[] }[] = [];
  if ((spec.features === undefined) === (spec.inputs === undefined)) {
    issues.push({
      path: [...base, 'features'],
      message: 'give exactly one of `features: [columns]` (one input) or `inputs: { name: [columns] }` (several)',
      received: spec.features ?? spec.inputs,
    });
  } else if (spec.features) {
    groups.push({ name: 'features', cols: spec.features, path: [...base, 'features'] });
  } else {
    for (const [name, cols] of Object.entries(spec.inputs!)) groups.push({ name, cols, path: [...base, 'inputs', name] });
  }
  const labels = typeof spec.label === 'string' ? [spec.label] : spec.label;
  const layouts: InputLayout[] = [];
  for (const g of groups) {
    const found: { c: Column; p: (string | number)[] }[] = [];
    g.cols.forEach((name, i) => {
      const p = [...g.path, i];
      const c = findColumn(columns, name, p, issues);
      if (!c) return;
      if (labels.includes(name)) issues.push({ path: p, message: 'the label column is also a feature (the model would see the answer)', received: name });
      else found.push({ c, p });
    });
    if (found.length !== g.cols.length) continue;
    const layout = layoutOne(g.name, found, issues);
    if (layout) layouts.push(layout);
  }
  if (issues.length) throw TfpipeError.fromIssues(issues);
  return layouts;
}

function layoutOne(name: string, found: { c: Column; p: (string | number)[] }[], issues: Issue[]): InputLayout | undefined {
  const special = found.filter(({ c }) => c.kind === 'image' || c.dtype === 'int32' || (c.kind === 'vector' && (c.shape?.length ?? 1) >= 2));
  for (const { c, p } of found) {
    if (columnSize(c) < 0) {
      throw new TfpipeError('E_USAGE', `Column "${c.name}" has a shape only known after fit ([${c.shape?.join(', ')}])`, {
        path: p,
        hint: 'Fit the preprocessor first, then pass preprocessor.outputColumns(sourceColumns) to createTensorizer.',
      });
    }
  }
  if (special.length > 0) {
    if (found.length > 1) {
      const { c, p } = special[0]!;
      issues.push(kindIssue(c, p, 'an input of its own (put it under `inputs:` with its own name)', 'an input shared with other columns'));
      return undefined;
    }
    const c = found[0]!.c;
    const size = columnSize(c);
    if (c.kind === 'image') {
      const s = c.shape!;
      const shape = s.length === 2 ? [s[0]!, s[1]!, 1] : [...s];
      return { spec: { name, shape, kind: 'image', dtype: 'float32' }, slots: [{ column: c.name, kind: c.kind, offset: 0, size }], size };
    }
    if (c.dtype === 'int32') {
      if (c.vocabSize === undefined) {
        throw new TfpipeError('E_USAGE', `Token column "${c.name}" has no vocabulary size yet`, { path: found[0]!.p, hint: 'Fit the preprocessor before createTensorizer.' });
      }
      return {
        spec: { name, shape: [...c.shape!], kind: c.shape!.length === 1 ? 'text' : 'sequence', dtype: 'int32', vocabSize: c.vocabSize },
        slots: [{ column: c.name, kind: c.kind, offset: 0, size }],
        size,
      };
    }
    return { spec: { name, shape: [...c.shape!], kind: 'sequence', dtype: 'float32' }, slots: [{ column: c.name, kind: c.kind, offset: 0, size }], size };
  }
  const slots: Slot[] = [];
  let offset = 0;
  for (const { c, p } of found) {
    if (c.kind === 'string') {
      issues.push(kindIssue(c, p, STRING_HINT, 'a model input'));
      continue;
    }
    const size = columnSize(c);
    slots.push({ column: c.name, kind: c.kind, offset, size });
    offset += size;
  }
  if (slots.length !== found.length) return undefined;
  return { spec: { name, shape: [offset], kind: 'tabular', dtype: 'float32' }, slots, size: offset };
}

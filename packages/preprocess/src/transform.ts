import { z } from 'zod';
import { TfpipeError, type Issue, type RegistryEntry } from '@tfpipe/core';
import type { Row, Value } from './_row.js';
import type { Column } from './columns.js';

/** How a transform is applied: augmentation only happens when `training` is true. */
export interface ApplyOptions {
  training?: boolean;
}

/** Accumulates statistics over one streaming pass of (already transformed) rows. */
export interface Fitter {
  update(row: Row): void;
  /** Ends the pass and stores the fitted state in the transform. */
  finish(): void;
}

/** One fitted-or-stateless step. Reads and writes the columns it names, in place. */
export interface Transform {
  readonly type: string;
  /** The columns it reads and rewrites. */
  readonly columns: readonly string[];
  /** True when it has something to learn and has not learnt it yet. */
  needsFit(): boolean;
  /** A fresh accumulator for one pass; undefined for transforms with nothing to learn. */
  fitter?(): Fitter;
  /** Column infos out, from column infos in; pushes issues for unknown columns or wrong kinds. */
  outputColumns(columns: readonly Column[], path: (string | number)[], issues: Issue[]): Column[];
  /** Rewrites its columns of `row` (the preprocessor's own copy); never mutates the values it reads. */
  apply(row: Row, options: ApplyOptions): void;
  /** Undoes `apply` where an inverse exists (standardize, min-max, rescale, log, label-encode). */
  inverse?(row: Row): void;
  /** JSON-safe fitted state; `load` takes it back. */
  state(): unknown;
  load(state: unknown): void;
}

/** A registry entry: the YAML `type`, its schema, and how to build the transform from a parsed config. */
export interface TransformEntry<C extends { type: string } = { type: string }> extends RegistryEntry {
  schema: z.ZodType<C>;
  create(config: C, context: { seed: number; index: number }): Transform;
}

/** Shared `column` / `columns` fields; exactly one must be given. */
export const columnFields = {
  column: z.string().min(1).optional().describe('The one column this transform applies to.'),
  columns: z.array(z.string().min(1)).min(1).optional().describe('Several columns this transform applies to (each on its own).'),
};

/** superRefine for `columnFields`: exactly one of column / columns. */
export function exactlyOneColumnField(v: { column?: string | undefined; columns?: string[] | undefined }, ctx: z.RefinementCtx): void {
  if ((v.column === undefined) === (v.columns === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of `column: name` or `columns: [a, b]`', path: ['columns'], input: v });
  }
}

/** The column list of a config with `column` or `columns`. */
export function columnList(c: { column?: string | undefined; columns?: string[] | undefined }): string[] {
  return c.columns ?? (c.column !== undefined ? [c.column] : []);
}

/** null, a missing key or NaN. Empty strings are values, not missing. */
export function isMissing(v: Value | undefined): v is null | undefined {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/** The fitted state must be there before `apply`. */
export function requireFitted(fitted: boolean, type: string): void {
  if (!fitted) {
    throw new TfpipeError('E_USAGE', `The ${type} transform is used before it was fitted`, {
      hint: 'Call Preprocessor.fit(trainRows) (or load a saved preprocess.json) before transform().',
    });
  }
}

/** An E_DATA error for a value a transform cannot take. */
export function dataError(type: string, column: string, received: unknown, expected: string, hint?: string): TfpipeError {
  const issue: Issue = { path: [column], message: `${type} cannot take this value`, received, expected };
  return new TfpipeError('E_DATA', `${type}: column "${column}": received ${describe(received)}; expected ${expected}`, {
    path: [column],
    issues: [issue],
    ...(hint ? { hint } : {}),
  });
}

function describe(v: unknown): string {
  if (v instanceof Float32Array || v instanceof Uint8Array) return `a ${v.constructor.name} of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

import type { Issue } from '@tfpipe/core';
import type { Row, Value } from './_row.js';
import { type Column, findColumn, kindIssue } from './columns.js';
import { Welford } from './_stats.js';
import { type Fitter, dataError, isMissing } from './transform.js';

/** Output columns of an element-wise numeric transform: number, vector and image columns keep kind and shape. */
export function numericOutputColumns(
  type: string,
  names: readonly string[],
  columns: readonly Column[],
  path: (string | number)[],
  issues: Issue[],
): Column[] {
  const out = columns.map((c) => ({ ...c }));
  names.forEach((name, i) => {
    const p = names.length === 1 ? [...path, 'column'] : [...path, 'columns', i];
    const c = findColumn(out, name, p, issues);
    if (!c) return;
    if (c.kind !== 'number' && c.kind !== 'vector' && c.kind !== 'image') {
      issues.push(kindIssue(c, p, 'a number, vector or image column', type));
      return;
    }
    if (c.dtype === 'int32') issues.push(kindIssue(c, p, 'a float column (not token ids)', type));
  });
  return out;
}

/** Calls `visit` on every finite-or-not number of a value (scalars and typed arrays); skips missing values. */
export function forEachNumber(type: string, column: string, v: Value | undefined, visit: (x: number) => void): void {
  if (isMissing(v)) return;
  if (typeof v === 'number') visit(v);
  else if (v instanceof Float32Array || v instanceof Uint8Array) for (let i = 0; i < v.length; i++) visit(v[i]!);
  else throw dataError(type, column, v, 'a number, Float32Array or Uint8Array');
}

/** Maps a number or typed array element-wise into a new value (arrays become Float32Array); missing stays missing. */
export function mapNumber(type: string, column: string, v: Value | undefined, f: (x: number) => number): Value {
  if (isMissing(v)) return v ?? null;
  if (typeof v === 'number') return f(v);
  if (v instanceof Float32Array || v instanceof Uint8Array) {
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]!);
    return out;
  }
  throw dataError(type, column, v, 'a number, Float32Array or Uint8Array');
}

/** Applies `f(column)` element-wise to each named column of the row. */
export function mapColumns(type: string, row: Row, names: readonly string[], f: (column: string) => (x: number) => number): void {
  for (const name of names) row[name] = mapNumber(type, name, row[name], f(name));
}

/**
 * One streaming pass of per-column statistics (Welford: count, mean, std, min, max) over every number of the
 * columns; `done` receives each column's accumulator when the pass ends.
 */
export function welfordFitter(type: string, names: readonly string[], done: (stats: Map<string, Welford>) => void): Fitter {
  const acc = new Map(names.map((n) => [n, new Welford()]));
  return {
    update(row) {
      for (const n of names) {
        const w = acc.get(n)!;
        forEachNumber(type, n, row[n], (x) => w.update(x));
      }
    },
    finish: () => done(acc),
  };
}

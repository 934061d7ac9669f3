import { didYouMean, type Issue } from '@tfpipe/core';
import type { ColumnInfo } from './_row.js';

/**
 * A column as preprocessing leaves it: data's ColumnInfo plus what the tensorizer needs to know.
 * A dimension of `-1` in `shape` is only known after fit (one-hot categories, bag-of-words vocabulary).
 */
export interface Column extends ColumnInfo {
  /** Integer codes in 0..vocabSize-1 (tokenize, label-encode); known after fit. */
  vocabSize?: number;
  /** `int32` for token ids; float32 otherwise. */
  dtype?: 'float32' | 'int32';
}

/** Number of scalars in one value of the column (1 for scalars; -1 when not known before fit). */
export function columnSize(c: Column): number {
  if (c.kind === 'number' || c.kind === 'boolean' || c.kind === 'string') return 1;
  if (!c.shape || c.shape.length === 0) return -1;
  if (c.shape.some((d) => d < 0)) return -1;
  return c.shape.reduce((a, b) => a * b, 1);
}

/** Looks a column up by name; pushes an "unknown column" issue with did-you-mean when it is missing. */
export function findColumn(
  columns: readonly Column[],
  name: string,
  path: (string | number)[],
  issues: Issue[],
): Column | undefined {
  const c = columns.find((x) => x.name === name);
  if (c) return c;
  const names = columns.map((x) => x.name);
  const suggestion = didYouMean(name, names);
  issues.push({
    path,
    message: 'unknown column',
    received: name,
    expected: `one of the columns ${names.map((n) => JSON.stringify(n)).join(', ') || '(none)'}`,
    ...(suggestion ? { suggestion } : {}),
  });
  return undefined;
}

/** An issue saying a column has the wrong kind for a transform or input. */
export function kindIssue(c: Column, path: (string | number)[], expected: string, what: string): Issue {
  return {
    path,
    message: `column "${c.name}" is of kind ${c.kind}${c.shape ? ` [${c.shape.join(', ')}]` : ''}, which ${what} cannot take`,
    received: c.name,
    expected,
  };
}

/** Replaces (by name) columns in a list, keeping order. */
export function replaceColumns(columns: readonly Column[], updated: readonly Column[]): Column[] {
  const byName = new Map(updated.map((c) => [c.name, c]));
  return columns.map((c) => byName.get(c.name) ?? c);
}

import type { Row } from './types.js';

/**
 * Where a row came from, for errors found downstream (a missing cell when making tensors) to name the
 * file's line rather than a row index. Line-based sources (CSV, TSV, JSONL) set it on the rows that hold a
 * missing cell (the rows such errors are about; stamping every row would cost the fast reader), as a
 * non-enumerable symbol key: rows compare, print and serialize as before. Copy it with `copyRowOrigin`
 * when making a new row from one (preprocessing does).
 */
export const ROW_ORIGIN: unique symbol = Symbol.for('tfpipe.row.origin');

interface Origin {
  file: string;
  line: number;
}

/** Marks a row with its file and 1-based line; returns the row. */
export function setRowOrigin(row: Row, file: string, line: number): Row {
  Object.defineProperty(row, ROW_ORIGIN, { value: { file, line } satisfies Origin, enumerable: false, configurable: true });
  return row;
}

/** Carries the origin of `from` (if any) over to `to`; returns `to`. */
export function copyRowOrigin<R extends object>(from: object, to: R): R {
  const o = (from as { [ROW_ORIGIN]?: Origin })[ROW_ORIGIN];
  if (o !== undefined) Object.defineProperty(to, ROW_ORIGIN, { value: o, enumerable: false, configurable: true });
  return to;
}

/** `data.csv line 102` for a row a line-based source marked, else undefined. */
export function rowOrigin(row: object | undefined): string | undefined {
  const o = (row as { [ROW_ORIGIN]?: Origin } | undefined)?.[ROW_ORIGIN];
  return o ? `${o.file} line ${o.line}` : undefined;
}

// Local, structurally identical copies of @tfpipe/data's row types, until data exports them.
// Switch these to `export type { Value, Row, ColumnInfo } from '@tfpipe/data'` once it does.

/** One cell of a row. Images and vectors are flat typed arrays (images HWC). */
export type Value = number | string | boolean | null | Float32Array | Uint8Array;

/** One record: column name to value. */
export type Row = Record<string, Value>;

/** What a data source says about a column. */
export interface ColumnInfo {
  name: string;
  kind: 'number' | 'string' | 'boolean' | 'image' | 'vector';
  /** Per-value shape for image ([h, w, c]) and vector ([n]) columns. */
  shape?: number[];
}

import type { Logger } from '@tfpipe/core';
import type { Dataset } from './dataset.js';
import type { ReadProgressListener } from './progress.js';

/** One cell. Missing values are `null`; images and vectors are flat typed arrays (shape in `ColumnInfo`). */
export type Value = number | string | boolean | null | Float32Array | Uint8Array;

/** One example: column name to value. */
export type Row = Record<string, Value>;

/** The kind of one column, as the tensorizer sees it. */
export type ColumnKind = 'number' | 'string' | 'boolean' | 'image' | 'vector';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** Per-row shape for `image` ([h, w, c]) and `vector` ([n]) columns. */
  shape?: number[];
}

/** A bad row that `onError: skip` skipped: where it was and why. */
export interface DataProblem {
  /** The file (or `"arrays"`). */
  file: string;
  /** 1-based line, for text formats (CSV, TSV, JSONL). */
  line?: number;
  /** 1-based record index, for formats without useful lines (JSON, IDX, arrays). */
  record?: number;
  column?: string;
  message: string;
}

/** Rows skipped for one reason (`wrong number of fields`, `unreadable value in column "age"`, ...). */
export interface SkipReason {
  reason: string;
  count: number;
  /** The first few of them, where they were and the value received. */
  first: (DataProblem & { received?: unknown })[];
}

/** What `onError: skip` skipped: the distinct rows, counted per reason. */
export interface SkipSummary {
  skipped: number;
  reasons: SkipReason[];
}

/** An opened source: its columns are known up front, its rows stream lazily (every iteration re-reads). */
export interface DataSource {
  columns: ColumnInfo[];
  /** Number of rows when known without reading the data (IDX, arrays, JSON, folders). */
  size?: number;
  rows(): Dataset<Row>;
  /** Distinct rows skipped so far under `onError: skip` (0 under `fail`). */
  skipped(): number;
  /** The first problems behind `skipped()` (at most 100), for the run log. */
  problems(): DataProblem[];
  /** Skipped rows counted per reason, with the first rows of each (for the log, run.json and the report). */
  skipSummary(): SkipSummary;
}

/** What a source's `open` gets besides its config. */
export interface SourceContext {
  /** Folder that relative paths in the config are relative to. */
  baseDir: string;
  logger: Logger;
  /** Progress of each pass over the data (file sources report it per chunk read). */
  onProgress?: ReadProgressListener | undefined;
  /** Config path of the source, for messages, e.g. ['data', 'source']. */
  path: (string | number)[];
}

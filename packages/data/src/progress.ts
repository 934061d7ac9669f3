/** How far a pass over a source has got; sources report it every chunk (not every row), so it costs nothing. */
export interface ReadProgress {
  /** The file being read. */
  file: string;
  /** 1-based: the how-many-th pass over this source (split, fitting, each epoch... each reads it again). */
  pass: number;
  /** Rows read so far in this pass (good and skipped). */
  rows: number;
  /** Bytes read so far, and the file's size, when the source reads a file. */
  bytes?: number;
  totalBytes?: number;
  /** The rows a pass reads, when known up front (a folder's files). */
  totalRows?: number;
  /** Seconds since the pass started. */
  seconds: number;
  /** The last report of a pass that read the file to its end. */
  done: boolean;
}

export type ReadProgressListener = (p: ReadProgress) => void;

/** One pass's reporter: `tick` as the data goes by (cheap, throttled here), `end` at the end. */
export interface PassProgress {
  tick(rows: number, bytes?: number): void;
  end(rows: number, bytes?: number): void;
}

const NOOP: PassProgress = { tick() {}, end() {} };
/** At most this many reports a second from a pass (the renderer throttles again for the screen). */
const MIN_INTERVAL_MS = 100;

/** A per-source counter of passes; `start()` at the top of each `rows()` iteration. */
export function passCounter(file: string, totalBytes: number | undefined, listener: ReadProgressListener | undefined, totalRows?: number): { start(): PassProgress } {
  let passes = 0;
  return {
    start() {
      if (!listener) return NOOP;
      const pass = ++passes;
      const t0 = performance.now();
      let last = 0;
      const report = (rows: number, bytes: number | undefined, done: boolean) =>
        listener({ file, pass, rows, ...(bytes !== undefined ? { bytes } : {}), ...(totalBytes !== undefined ? { totalBytes } : {}), ...(totalRows !== undefined ? { totalRows } : {}), seconds: (performance.now() - t0) / 1000, done });
      return {
        tick(rows, bytes) {
          const now = performance.now();
          if (now - last < MIN_INTERVAL_MS) return;
          last = now;
          report(rows, bytes, false);
        },
        end(rows, bytes) {
          report(rows, bytes ?? totalBytes, true);
        },
      };
    },
  };
}

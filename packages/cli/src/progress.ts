import { basename } from 'node:path';
import type { DataProgressEvent, ProgressEvent } from '@tfpipe/pipeline';

/** Plain (non-terminal) output prints a progress line at most this often during a long pass or epoch. */
export const PLAIN_EVERY_MS = 10_000;

export interface Stream {
  write(text: string): unknown;
  columns?: number;
}

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const size = (bytes: number) => (bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(2)} GB` : `${(bytes / MB).toFixed(1)} MB`);
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `reading data.csv (fitting the preprocessing), pass 1: 1,234,567 rows  820.0 MB of 2.10 GB  45.6 MB/s  ETA 0:31` */
export function formatDataProgress(e: DataProgressEvent): string {
  const what = `${e.done ? 'read' : 'reading'} ${basename(e.file)}${e.phase ? ` (${e.phase})` : ''}, pass ${e.pass}`;
  const secs = Math.max(e.seconds, 1e-3);
  if (e.done) {
    const bytes = e.bytes !== undefined ? `, ${size(e.bytes)}` : '';
    const mbs = e.bytes !== undefined ? `, ${(e.bytes / MB / secs).toFixed(1)} MB/s` : '';
    return `${what}: ${int(e.rows)} rows${bytes} in ${e.seconds.toFixed(1)} s (${int(e.rows / secs)} rows/s${mbs})`;
  }
  const parts = [`${int(e.rows)}${e.totalRows !== undefined && e.bytes === undefined ? ` of ${int(e.totalRows)}` : ''} rows`];
  if (e.bytes !== undefined) {
    parts.push(e.totalBytes ? `${size(e.bytes)} of ${size(e.totalBytes)}` : size(e.bytes));
    parts.push(`${(e.bytes / MB / secs).toFixed(1)} MB/s`);
    if (e.totalBytes && e.bytes > 0) parts.push(`ETA ${duration(((e.totalBytes - e.bytes) * secs) / e.bytes)}`);
  } else {
    parts.push(`${int(e.rows / secs)} rows/s`);
    if (e.totalRows && e.rows > 0) parts.push(`ETA ${duration(((e.totalRows - e.rows) * secs) / e.rows)}`);
  }
  return `${what}: ${parts.join('  ')}`;
}

export interface RunProgress {
  /** The trainer's events (epochs, steps, validation). */
  training(e: ProgressEvent): void;
  /** Passes over the data file. */
  data(e: DataProgressEvent): void;
  done(): void;
}

/**
 * The progress of `pipeline run`: on a terminal one redrawn line (the trainer's bar, or the data pass
 * with rows, MB/s and ETA); otherwise plain lines: a line every PLAIN_EVERY_MS during a long pass or a
 * long epoch. Each pass of a second or more ends with its totals (rows, rows/s, MB/s). Training passes
 * are shown by the trainer's steps.
 */
export function createRunProgress(opts: { stream: Stream; tty: boolean; trainer: { update(e: ProgressEvent): void; done(): void }; now?: () => number }): RunProgress {
  const now = opts.now ?? (() => performance.now());
  let open = false;
  let lastPlain = now();
  const plainDue = () => {
    const t = now();
    if (t - lastPlain < PLAIN_EVERY_MS) return false;
    lastPlain = t;
    return true;
  };
  return {
    training(e) {
      if (open) opts.stream.write('\r\x1b[K');
      open = false;
      opts.trainer.update(e);
      if (!opts.tty && e.type === 'step' && plainDue()) {
        const of = e.stepsPerEpoch ? `/${e.stepsPerEpoch}` : '';
        const eta = e.eta !== undefined ? `  ETA ${duration(e.eta)}` : '';
        opts.stream.write(`epoch ${e.epoch}/${e.epochs} step ${e.step}${of}  loss=${e.loss.toFixed(4)}  ${int(e.samplesPerSec)} samples/s${eta}\n`);
      }
      if (e.type !== 'step') lastPlain = now();
    },
    data(e) {
      if (e.phase === 'training') return;
      if (e.done) {
        // A pass of under a second is not worth a line (small files read many times).
        if (e.seconds < 1 && !open) return;
        if (open) opts.stream.write('\r\x1b[K');
        open = false;
        opts.stream.write(`${formatDataProgress(e)}\n`);
        lastPlain = now();
        return;
      }
      if (opts.tty) {
        let text = formatDataProgress(e);
        if (opts.stream.columns && text.length >= opts.stream.columns) text = text.slice(0, opts.stream.columns - 1);
        opts.stream.write(`\r\x1b[K${text}`);
        open = true;
      } else if (plainDue()) opts.stream.write(`${formatDataProgress(e)}\n`);
    },
    done() {
      if (open) opts.stream.write('\n');
      open = false;
      opts.trainer.done();
    },
  };
}

import type { EpochLog, ProgressEvent } from './types.js';

export interface ProgressRendererOptions {
  /** Where to write (process.stderr in the CLI). */
  stream: { write(text: string): unknown; columns?: number };
  /** One line redrawn with \r (a terminal), or plain lines (logs, CI). Default: stream.isTTY. */
  tty?: boolean;
  /** Plain mode: also print a line every N steps (0: per epoch only). Default 0. */
  everySteps?: number;
  /** Bar width in characters. Default 24. */
  barWidth?: number;
}

export interface ProgressRenderer {
  update(event: ProgressEvent): void;
  /** Ends a half-drawn line. Safe to call twice. */
  done(): void;
}

/** `1:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

const SKIP = new Set(['epoch', 'lr', 'samplesPerSec', 'seconds']);

/** `loss=0.1234 accuracy=0.9000 val_loss=... lr=1.000e-3 12.3s 845 samples/s` */
export function formatEpochLog(log: EpochLog, epochs?: number): string {
  const parts = [`epoch ${log.epoch}${epochs ? `/${epochs}` : ''}`];
  for (const [k, v] of Object.entries(log)) if (!SKIP.has(k) && typeof v === 'number') parts.push(`${k}=${fmt(v)}`);
  parts.push(`lr=${log.lr.toExponential(3)}`, `${log.seconds.toFixed(1)}s`, `${Math.round(log.samplesPerSec)} samples/s`);
  return parts.join('  ');
}

/** Renders ProgressEvents: a redrawn progress bar on a TTY, plain lines otherwise. */
export function createProgressRenderer(options: ProgressRendererOptions): ProgressRenderer {
  const tty = options.tty ?? Boolean((options.stream as { isTTY?: boolean }).isTTY);
  const width = options.barWidth ?? 24;
  const every = options.everySteps ?? 0;
  let open = false;
  const line = (text: string) => {
    if (open) options.stream.write('\r\x1b[K');
    options.stream.write(`${text}\n`);
    open = false;
  };
  return {
    update(e) {
      if (e.type === 'step') {
        const eta = e.eta !== undefined ? `  ETA ${formatDuration(e.eta)}` : '';
        const speed = `${Math.round(e.samplesPerSec)} samples/s`;
        if (tty) {
          const total = e.stepsPerEpoch;
          const frac = total ? Math.min(1, e.step / total) : 0;
          const filled = Math.round(frac * width);
          const bar = total ? `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}] ${e.step}/${total}` : `step ${e.step}`;
          let text = `epoch ${e.epoch}/${e.epochs} ${bar}  ${speed}  loss ${fmt(e.loss)}${eta}`;
          const cols = options.stream.columns;
          if (cols && text.length >= cols) text = text.slice(0, cols - 1);
          options.stream.write(`\r\x1b[K${text}`);
          open = true;
        } else if (every > 0 && e.step % every === 0) {
          line(`epoch ${e.epoch}/${e.epochs} step ${e.step}${e.stepsPerEpoch ? `/${e.stepsPerEpoch}` : ''}  loss=${fmt(e.loss)}  ${speed}${eta}`);
        }
      } else if (e.type === 'validation') {
        const parts = Object.entries(e.logs).map(([k, v]) => `${k}=${fmt(v)}`);
        line(`epoch ${e.epoch}/${e.epochs} step ${e.globalStep}  ${parts.join('  ')}`);
      } else {
        line(formatEpochLog(e.log, e.epochs));
      }
    },
    done() {
      if (open) options.stream.write('\n');
      open = false;
    },
  };
}

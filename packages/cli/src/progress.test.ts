import { describe, expect, it } from 'vitest';
import { createRunProgress, formatDataProgress, PLAIN_EVERY_MS } from './progress.js';

// The clock is injected: what is printed depends on the time the events say, not on how fast this runs.
function setup(tty: boolean) {
  let t = 0;
  const out: string[] = [];
  const trainer: unknown[] = [];
  const p = createRunProgress({ stream: { write: (s: string) => void out.push(s) }, tty, trainer: { update: (e) => void trainer.push(e), done: () => {} }, now: () => t });
  return { p, out, trainer, advance: (ms: number) => void (t += ms) };
}
const pass = { file: '/data/big.csv', pass: 1, totalBytes: 2 * 1024 ** 3, phase: 'fitting the preprocessing' };

describe('run progress', () => {
  it('formats rows, bytes, MB/s and ETA while reading, and the totals at the end', () => {
    expect(formatDataProgress({ ...pass, rows: 1_000_000, bytes: 512 * 1024 ** 2, seconds: 10, done: false })).toBe(
      'reading big.csv (fitting the preprocessing), pass 1: 1,000,000 rows  512.0 MB of 2.00 GB  51.2 MB/s  ETA 0:30',
    );
    expect(formatDataProgress({ ...pass, rows: 4_000_000, bytes: 2 * 1024 ** 3, seconds: 40, done: true })).toBe(
      'read big.csv (fitting the preprocessing), pass 1: 4,000,000 rows, 2.00 GB in 40.0 s (100,000 rows/s, 51.2 MB/s)',
    );
    expect(formatDataProgress({ file: '/data/images', pass: 2, rows: 250, totalRows: 1000, seconds: 5, done: false })).toBe('reading images, pass 2: 250 of 1,000 rows  50 rows/s  ETA 0:15');
  });

  it('plain output: a line per interval during a long pass, then the totals; training passes left to the trainer', () => {
    const { p, out, advance } = setup(false);
    p.data({ ...pass, rows: 10, bytes: 100, seconds: 0.1, done: false });
    expect(out).toEqual([]);
    advance(PLAIN_EVERY_MS);
    p.data({ ...pass, rows: 5000, bytes: 1e6, seconds: 10, done: false });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^reading big\.csv .*5,000 rows.*ETA/);
    p.data({ ...pass, rows: 9000, bytes: 2e6, seconds: 12, done: true });
    expect(out[1]).toMatch(/^read big\.csv .*9,000 rows/);
    advance(PLAIN_EVERY_MS);
    p.data({ ...pass, phase: 'training', rows: 1, bytes: 1, seconds: 60, done: false });
    p.data({ ...pass, phase: 'training', rows: 1, bytes: 1, seconds: 60, done: true });
    expect(out).toHaveLength(2);
    p.data({ ...pass, rows: 10, bytes: 10, seconds: 0.2, done: true }); // a short pass: no line
    expect(out).toHaveLength(2);
  });

  it('plain output: per-batch lines within a long epoch', () => {
    const { p, out, trainer, advance } = setup(false);
    const step = (s: number) => ({ type: 'step' as const, epoch: 1, epochs: 3, step: s, globalStep: s, stepsPerEpoch: 100, loss: 0.5, samplesPerSec: 1000, eta: 90 });
    p.training(step(1));
    expect(out).toEqual([]);
    advance(PLAIN_EVERY_MS);
    p.training(step(40));
    expect(out).toEqual(['epoch 1/3 step 40/100  loss=0.5000  1,000 samples/s  ETA 1:30\n']);
    expect(trainer).toHaveLength(2); // the trainer's own renderer still gets every event
  });

  it('a terminal gets one redrawn line', () => {
    const { p, out } = setup(true);
    p.data({ ...pass, rows: 10, bytes: 100, seconds: 0.1, done: false });
    p.data({ ...pass, rows: 20, bytes: 200, seconds: 0.2, done: false });
    expect(out.every((s) => s.startsWith('\r\x1b[K') && !s.endsWith('\n'))).toBe(true);
    p.data({ ...pass, rows: 30, bytes: 300, seconds: 0.3, done: true });
    expect(out.at(-1)).toMatch(/^read big\.csv.*\n$/);
  });
});

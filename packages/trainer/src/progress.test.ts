import { describe, expect, it } from 'vitest';
import { createProgressRenderer, formatDuration, type EpochLog } from './index.js';

function sink() {
  const chunks: string[] = [];
  return { chunks, stream: { write: (t: string) => chunks.push(t) } };
}

const log: EpochLog = { epoch: 2, loss: 0.5, accuracy: 0.875, val_loss: 0.625, lr: 0.001, samplesPerSec: 1234.4, seconds: 3.21 };
const step = (s: number) => ({ type: 'step' as const, epoch: 2, epochs: 5, step: s, globalStep: 10 + s, stepsPerEpoch: 10, loss: 0.75, samplesPerSec: 500, eta: 75 });

describe('progress renderer', () => {
  it('on a TTY redraws one line with \\r: epoch, bar, samples/s, loss, ETA; then prints the epoch line', () => {
    const { chunks, stream } = sink();
    const r = createProgressRenderer({ stream, tty: true, barWidth: 10 });
    r.update(step(5));
    expect(chunks.at(-1)).toBe('\r\x1b[Kepoch 2/5 [====>     ] 5/10  500 samples/s  loss 0.7500  ETA 1:15');
    r.update({ type: 'epoch', epoch: 2, epochs: 5, log });
    expect(chunks.slice(-2)).toEqual([
      '\r\x1b[K',
      'epoch 2/5  loss=0.5000  accuracy=0.8750  val_loss=0.6250  lr=1.000e-3  3.2s  1234 samples/s\n',
    ]);
    r.done();
    expect(chunks.at(-1)).not.toBe('\n');
  });
  it('without a TTY prints plain lines: per epoch, and every N steps when asked', () => {
    const { chunks, stream } = sink();
    const r = createProgressRenderer({ stream, tty: false, everySteps: 5 });
    r.update(step(4));
    r.update(step(5));
    r.update({ type: 'epoch', epoch: 2, epochs: 5, log });
    expect(chunks).toEqual([
      'epoch 2/5 step 5/10  loss=0.7500  500 samples/s  ETA 1:15\n',
      'epoch 2/5  loss=0.5000  accuracy=0.8750  val_loss=0.6250  lr=1.000e-3  3.2s  1234 samples/s\n',
    ]);
    expect(chunks.join('')).not.toContain('\r');
  });
  it('formats durations', () => {
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});

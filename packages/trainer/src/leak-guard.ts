import { type Logger, TfpipeError, countTensors } from '@tfpipe/core';

/**
 * Compares the live tensor count at the end of each epoch with the previous epoch's (from the second
 * epoch: the first creates optimizer slots). Tensors the trainer keeps on purpose (the best weights)
 * are subtracted.
 */
export class LeakGuard {
  private previous: number | undefined;

  constructor(
    private readonly mode: 'error' | 'warn' | 'off',
    private readonly log: Logger,
  ) {}

  check(epoch: number, owned: number): void {
    if (this.mode === 'off') return;
    const now = countTensors() - owned;
    const before = this.previous;
    this.previous = now;
    if (before === undefined || now <= before) return;
    const message = `${now - before} tensor(s) leaked during epoch ${epoch} (${before} -> ${now} live tensors); a callback, metric, loss or data pipeline keeps tensors it should dispose`;
    if (this.mode === 'error') throw new TfpipeError('E_TRAIN', message, { hint: 'Set train.leakCheck: warn to train anyway.' });
    this.log.warn(message);
  }
}

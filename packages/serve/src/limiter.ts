/**
 * At most `concurrency` tasks at once; the others wait in arrival order. A waiting task whose signal
 * aborts leaves the line without running (it rejects with the signal's reason).
 */
export class Limiter {
  private active = 0;
  private maxSeen = 0;
  private readonly waiting: { start: () => void; signal: AbortSignal | undefined; onAbort: (() => void) | undefined }[] = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency: expected an integer >= 1, received ${concurrency}`);
  }

  /** Tasks running now. */
  get running(): number {
    return this.active;
  }

  /** The most tasks ever running at once. */
  get maxRunning(): number {
    return this.maxSeen;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active >= this.concurrency) await this.wait(signal);
    else this.active++;
    this.maxSeen = Math.max(this.maxSeen, this.active);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
        next.start(); // the slot passes on: `active` stays the same
      } else this.active--;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = { start: resolve, signal, onAbort: undefined as (() => void) | undefined };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
    });
  }
}

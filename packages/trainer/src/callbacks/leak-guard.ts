import type { Logger } from '@tfpipe/core';
import { LeakGuard as Counter } from '../leak-guard.js';
import type { Callback, CallbackContext } from '../types.js';

/** `train.leakCheck`: the live tensor count at each epoch end against the previous one (see ../leak-guard.ts). */
export class LeakGuard implements Callback {
  readonly name = 'leak-guard';
  private readonly counter: Counter;

  /** `held`: tensors other callbacks keep on purpose (the best weights). */
  constructor(mode: 'error' | 'warn' | 'off', logger: Logger, private readonly held: () => number = () => 0) {
    this.counter = new Counter(mode, logger);
  }

  onEpochEnd(ctx: CallbackContext): void {
    this.counter.check(ctx.epoch, this.held());
  }
}

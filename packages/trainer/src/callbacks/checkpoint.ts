import type { Callback, CallbackContext } from '../types.js';

/**
 * `train.checkpoint.every`: writes `checkpoints/last` every N epochs and at the last epoch (or when a stop
 * was decided), marking a finished run so a resume has nothing left to do. It runs after the other
 * callbacks' onEpochEnd, so the checkpoint holds the states they reached at this epoch.
 */
export class Checkpoint implements Callback {
  readonly name = 'checkpoint';

  constructor(private readonly every = 1) {}

  async onEpochEnd(ctx: CallbackContext): Promise<void> {
    if (!ctx.runDir) return;
    const done = ctx.stopping !== undefined || ctx.epoch === ctx.epochs;
    if (!done && ctx.epoch % this.every !== 0) return;
    const finished = done ? { reason: ctx.stopping?.kind ?? 'completed', ...(ctx.stopping ? { message: ctx.stopping.message } : {}) } : undefined;
    await ctx.saveCheckpoint('last', finished);
  }
}

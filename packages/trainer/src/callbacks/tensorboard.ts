import { TensorBoardWriter } from '../tfevents.js';
import type { Callback, CallbackContext } from '../types.js';

/**
 * TensorBoard event files in the runDir: every EpochLog value per epoch, `step/val_*` after each
 * `validationEverySteps` pass, and `batch/loss` every `logEverySteps` steps (0: none).
 */
export class TensorBoard implements Callback {
  readonly name = 'tensorboard';
  private writer: TensorBoardWriter | undefined;

  constructor(private readonly options: { logEverySteps?: number } = {}) {}

  onTrainBegin(ctx: CallbackContext): void {
    if (ctx.runDir) this.writer = new TensorBoardWriter(ctx.runDir);
  }

  onBatchEnd(ctx: CallbackContext): void {
    const every = this.options.logEverySteps ?? 0;
    if (this.writer && every > 0 && ctx.step % every === 0) this.writer.scalars(ctx.step, { 'batch/loss': ctx.logs.loss! });
  }

  onValidationEnd(ctx: CallbackContext): void {
    this.writer?.scalars(ctx.step, Object.fromEntries(Object.entries(ctx.logs).map(([k, x]) => [`step/${k}`, x])));
  }

  onEpochEnd(ctx: CallbackContext): void {
    this.writer?.scalars(ctx.epoch, Object.fromEntries(Object.entries(ctx.logs).filter(([k, x]) => k !== 'epoch' && x !== undefined)));
  }

  dispose(): void {
    this.writer?.close();
    this.writer = undefined;
  }
}

import type { Callback, CallbackContext, EpochLog, ProgressEvent } from '../types.js';

/** Turns the loop into ProgressEvents (per step with speed and ETA, per validation, per epoch). */
export class Progress implements Callback {
  readonly name = 'progress';
  private runStart = 0;
  private runSteps = 0;
  private epochStart = 0;
  private samples = 0;

  constructor(private readonly emit: (event: ProgressEvent) => void) {}

  onTrainBegin(): void {
    this.runStart = performance.now();
    this.runSteps = 0;
  }

  onEpochBegin(): void {
    this.epochStart = performance.now();
    this.samples = 0;
  }

  onBatchEnd(ctx: CallbackContext): void {
    this.runSteps++;
    this.samples += ctx.logs.size ?? 0;
    const now = performance.now();
    const elapsed = (now - this.epochStart) / 1000;
    const perStep = (now - this.runStart) / 1000 / Math.max(1, this.runSteps);
    const spe = ctx.stepsPerEpoch;
    const eta = spe !== undefined ? (spe - ctx.stepInEpoch + (ctx.epochs - ctx.epoch) * spe) * perStep : undefined;
    this.emit({
      type: 'step',
      epoch: ctx.epoch,
      epochs: ctx.epochs,
      step: ctx.stepInEpoch,
      globalStep: ctx.step,
      ...(spe !== undefined ? { stepsPerEpoch: spe } : {}),
      loss: ctx.logs.loss!,
      samplesPerSec: elapsed > 0 ? this.samples / elapsed : 0,
      ...(eta !== undefined ? { eta: Math.max(0, eta) } : {}),
    });
  }

  onValidationEnd(ctx: CallbackContext): void {
    this.emit({ type: 'validation', epoch: ctx.epoch, epochs: ctx.epochs, globalStep: ctx.step, logs: { ...ctx.logs } });
  }

  onEpochEnd(ctx: CallbackContext): void {
    this.emit({ type: 'epoch', epoch: ctx.epoch, epochs: ctx.epochs, log: { ...ctx.logs } as EpochLog });
  }
}

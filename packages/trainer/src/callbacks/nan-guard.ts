import { TfpipeError } from '@tfpipe/core';
import type { Callback, CallbackContext } from '../types.js';

/**
 * A NaN/Inf batch loss ends training (`train.onNaN`): `'error'` throws E_TRAIN naming epoch and step (the
 * best weights are restored first), `'stop'` ends with stopReason `nan`. The loop runs it before every
 * other onBatchEnd, and abandons the epoch.
 */
export class NanGuard implements Callback {
  readonly name = 'nan-guard';

  constructor(private readonly mode: 'error' | 'stop' = 'error') {}

  onBatchEnd(ctx: CallbackContext): void {
    if (Number.isFinite(ctx.logs.loss)) return;
    const message = `the loss is NaN/Inf at epoch ${ctx.epoch}, step ${ctx.stepInEpoch} (global step ${ctx.step})`;
    if (this.mode === 'error') {
      throw new TfpipeError('E_TRAIN', message, { hint: 'Lower the learning rate, set train.gradientClip, or check the data for NaN/Inf values.' });
    }
    ctx.stopTraining(message, 'nan');
  }
}

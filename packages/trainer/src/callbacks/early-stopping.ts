import type { Direction, Logger } from '@tfpipe/core';
import { type EarlyStoppingConfig, type EarlyStoppingState, earlyStoppingStep, initialEarlyStoppingState } from '../early-stopping.js';
import type { Callback, CallbackContext } from '../types.js';

/**
 * `train.earlyStopping`: stops when the monitor has not improved for `patience` epochs. The decision is the
 * pure `earlyStoppingStep`; this callback owns its state (saved in checkpoints). Restoring the best weights
 * is BestWeights' job.
 */
export class EarlyStopping implements Callback {
  readonly name: string;
  private state: EarlyStoppingState;

  constructor(
    private readonly config: Pick<EarlyStoppingConfig, 'patience' | 'minDelta' | 'startFromEpoch' | 'baseline'>,
    private readonly monitor: string,
    private readonly mode: Direction,
    private readonly options: { name?: string; logger?: Logger } = {},
  ) {
    this.name = options.name ?? 'early-stopping';
    this.state = initialEarlyStoppingState(config);
  }

  stateDict(): EarlyStoppingState {
    return this.state;
  }

  loadStateDict(state: unknown): void {
    this.state = state as EarlyStoppingState;
  }

  onEpochEnd(ctx: CallbackContext): void {
    const r = earlyStoppingStep(this.state, { epoch: ctx.epoch, value: ctx.logs[this.monitor], monitor: this.monitor, mode: this.mode }, this.config);
    this.state = r.state;
    if (r.decision.stop && !ctx.stopping) {
      ctx.stopTraining(r.decision.reason!, 'early-stopping');
      this.options.logger?.info(`early stopping at epoch ${ctx.epoch}: ${r.decision.reason}`);
    }
  }
}

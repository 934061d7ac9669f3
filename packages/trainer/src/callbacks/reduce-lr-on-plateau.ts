import type { Direction, Logger } from '@tfpipe/core';
import { type PlateauState, type ScheduleConfig, initialPlateauState, plateauStep, scheduledLearningRate } from '../schedules.js';
import type { Callback, CallbackContext } from '../types.js';

type PlateauConfig = Extract<ScheduleConfig, { type: 'plateau' }>;

/**
 * `train.schedule: { type: plateau }`: after `patience` epochs without improvement of the monitor the
 * learning rate is multiplied by `factor` (down to `minLr`). Decides at epoch end (the pure `plateauStep`),
 * sets each step's rate in onBatchBegin; its state is saved in checkpoints.
 */
export class ReduceLROnPlateau implements Callback {
  readonly name = 'reduce-lr-on-plateau';
  private state: PlateauState = initialPlateauState();

  constructor(
    private readonly config: PlateauConfig,
    private readonly baseLearningRate: number,
    private readonly monitor: string,
    private readonly mode: Direction,
    private readonly logger?: Logger,
  ) {}

  stateDict(): PlateauState {
    return this.state;
  }

  loadStateDict(state: unknown): void {
    this.state = state as PlateauState;
  }

  onBatchBegin(ctx: CallbackContext): void {
    ctx.learningRate = scheduledLearningRate(this.baseLearningRate, this.config, { epoch: ctx.epoch - 1, step: ctx.step, epochs: ctx.epochs }, this.state);
  }

  onEpochEnd(ctx: CallbackContext): void {
    const r = plateauStep(this.state, ctx.logs[this.monitor], this.mode, this.config);
    this.state = r.state;
    if (r.reduced) this.logger?.info(`epoch ${ctx.epoch}: ${this.monitor} plateaued; learning rate x${this.config.factor}`);
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { Direction, Logger } from '@tfpipe/core';
import { findCheckpoint, readCheckpointTensors } from '../checkpoint.js';
import { type BestState, trackBest } from '../monitor.js';
import type { Callback, CallbackContext } from '../types.js';

export interface BestWeightsOptions {
  /** The EpochLog key watched (`val_loss`, `val_accuracy`, ...). */
  monitor: string;
  mode: Direction;
  /** Keep the best epoch's weights in memory and put them back whatever ends training. */
  restore: boolean;
  /** Write `checkpoints/best` when the monitor improves (needs a runDir). */
  save: boolean;
  logger?: Logger;
}

/**
 * The best epoch of one monitor: remembered (FitResult.bestEpoch), saved to `checkpoints/best`, and with
 * `restore` its weights are put back at the end — early stop, last epoch, abort, or an error.
 */
export class BestWeights implements Callback {
  readonly name = 'best-weights';
  state: BestState = {};
  /** True once the best weights were put back (or were the model's weights at the end). */
  restored = false;
  private weights: tf.Tensor[] | undefined;

  constructor(readonly options: BestWeightsOptions) {}

  /** Tensors held on purpose (the leak guard subtracts them). */
  get heldTensors(): number {
    return this.weights?.length ?? 0;
  }

  stateDict(): BestState {
    return this.state;
  }

  loadStateDict(state: unknown): void {
    this.state = state as BestState;
  }

  async onTrainBegin(ctx: CallbackContext): Promise<void> {
    if (ctx.resumedFrom === undefined || !this.options.restore || !ctx.runDir) return;
    const dir = await findCheckpoint(ctx.runDir, 'best');
    if (dir) this.weights = (await readCheckpointTensors(dir, ctx.model)).map((t) => tf.keep(t));
  }

  async onEpochEnd(ctx: CallbackContext): Promise<void> {
    const tracked = trackBest(this.state, ctx.epoch, ctx.logs[this.options.monitor], this.options.mode);
    this.state = tracked.state;
    if (!tracked.improved) return;
    if (this.options.restore) {
      tf.dispose(this.weights);
      this.weights = ctx.model.weights.map((w) => tf.keep(w.read().clone()));
    }
    if (ctx.runDir && (this.options.save || this.options.restore)) await ctx.saveCheckpoint('best');
  }

  onTrainEnd(ctx: CallbackContext): void {
    if (!this.options.restore || !this.weights) return;
    const last = ctx.logs.epoch;
    if (this.state.epoch !== undefined && this.state.epoch !== last) {
      ctx.model.setWeights(this.weights);
      this.options.logger?.info(`restored the weights of epoch ${this.state.epoch} (${this.options.monitor} ${this.state.value})`);
    }
    this.restored = true;
  }

  onTrainError(ctx: CallbackContext): void {
    if (this.options.restore && this.weights && !this.restored) ctx.model.setWeights(this.weights);
  }

  dispose(): void {
    tf.dispose(this.weights);
    this.weights = undefined;
  }
}


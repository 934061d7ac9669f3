import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '@tfpipe/core';

/** One line of metrics.jsonl and one entry of `FitResult.history`. Metric keys are the metric names. */
export interface EpochLog {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's samples (regularization included). */
  loss: number;
  val_loss?: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Training samples per second (validation time excluded). */
  samplesPerSec: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** `<metric>` and `val_<metric>`. */
  [metric: string]: number | undefined;
}

export type StopReason = 'completed' | 'early-stopping' | 'interrupted' | 'nan';

export interface FitResult {
  history: EpochLog[];
  /** Epoch (1-based) with the best monitored value. */
  bestEpoch?: number;
  bestValue?: number;
  /** What the best is measured on. */
  monitor: string;
  stopReason: StopReason;
  /** Why training stopped, in words. */
  stopMessage?: string;
  /** Epochs completed, counting those of a resumed run before the resume. */
  epochsRun: number;
  /** Optimizer steps done in all. */
  steps: number;
  /** True when the best epoch's weights were put back into the model at the end. */
  restoredBest: boolean;
}

/** Progress, as a stream of events: per step, per validation every N steps, per epoch end. */
export type ProgressEvent =
  | {
      type: 'step';
      epoch: number;
      epochs: number;
      /** 1-based step within the epoch. */
      step: number;
      globalStep: number;
      stepsPerEpoch?: number;
      loss: number;
      samplesPerSec: number;
      /** Seconds left in the whole run, when the epoch length is known. */
      eta?: number;
    }
  | { type: 'validation'; epoch: number; epochs: number; globalStep: number; logs: Record<string, number> }
  | { type: 'epoch'; epoch: number; epochs: number; log: EpochLog };

/** What every callback hook receives. */
export interface CallbackContext {
  model: tfl.LayersModel;
  /** 1-based current epoch. */
  epoch: number;
  epochs: number;
  /** Optimizer steps done so far (global). */
  step: number;
  /** Logs so far: the last batch (`loss`, `size`) in onBatchEnd, the EpochLog in onEpochEnd. */
  logs: Record<string, number>;
  /** The run's seeded generator (its state is saved in checkpoints). */
  rng: Rng;
  /** Asks the trainer to stop after this step / epoch; `reason` goes to FitResult.stopMessage. */
  stopTraining(reason: string): void;
}

/** A user hook into the loop. `stateDict`/`loadStateDict` carry its state across a resume. */
export interface Callback {
  /** Key of its state in checkpoints (default: its index). */
  name?: string;
  onTrainBegin?(ctx: CallbackContext): void | Promise<void>;
  onEpochBegin?(ctx: CallbackContext): void | Promise<void>;
  onBatchEnd?(ctx: CallbackContext): void | Promise<void>;
  onEpochEnd?(ctx: CallbackContext): void | Promise<void>;
  onTrainEnd?(ctx: CallbackContext): void | Promise<void>;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

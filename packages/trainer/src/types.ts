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

/** What every callback hook receives: one object, updated in place by the loop. */
export interface CallbackContext {
  model: tfl.LayersModel;
  /** 1-based current epoch. */
  epoch: number;
  epochs: number;
  /** Optimizer steps done so far (global). */
  step: number;
  /** 1-based step within the epoch (0 before the first). */
  stepInEpoch: number;
  /**
   * Logs so far: the batch (`loss`, `size`) in onBatchEnd, the validation values (`val_*`) in
   * onValidationEnd, the EpochLog in onEpochEnd and onTrainEnd.
   */
  logs: Record<string, number>;
  /** The learning rate of the coming step: onBatchBegin may change it (ReduceLROnPlateau does). */
  learningRate: number;
  /** Steps per epoch when known (given, or counted in the first epoch). */
  stepsPerEpoch?: number;
  /** The run's seeded generator (its state is saved in checkpoints). */
  rng: Rng;
  /** The run folder, when the run writes files. */
  runDir?: string;
  /** Epochs completed by the run this one resumes (undefined for a fresh run). */
  resumedFrom?: number;
  /** Asks the loop to stop after this step / epoch; `reason` goes to FitResult.stopMessage. The first request wins. */
  stopTraining(reason: string, kind?: Exclude<StopReason, 'completed'>): void;
  /** Set once a stop was requested. */
  stopping?: { kind: Exclude<StopReason, 'completed'>; message: string };
  /** Writes `<runDir>/checkpoints/<name>`: weights, optimizer, the loop's state and every callback's `stateDict`. */
  saveCheckpoint(name: 'last' | 'best', finished?: { reason: string; message?: string }): Promise<void>;
}

/**
 * A hook into the training loop (Keras/Lightning style). Built-in callbacks (EarlyStopping, BestWeights,
 * Checkpoint, ReduceLROnPlateau, MetricsLog, TensorBoard, Progress, NanGuard, LeakGuard) are callbacks too.
 * `stateDict`/`loadStateDict` carry a callback's state across a resume: a checkpoint is the union of the
 * callbacks' states and the loop's.
 */
export interface Callback {
  /** Key of its state in checkpoints (default: its index). */
  name?: string;
  onTrainBegin?(ctx: CallbackContext): void | Promise<void>;
  onEpochBegin?(ctx: CallbackContext): void | Promise<void>;
  /** Before a step: the batch is formed, the learning rate is in `ctx.learningRate` and may be changed. */
  onBatchBegin?(ctx: CallbackContext): void | Promise<void>;
  /** After a step's update is applied; `ctx.logs` holds its `loss` and `size`. */
  onBatchEnd?(ctx: CallbackContext): void | Promise<void>;
  /** After a validation pass every `validationEverySteps` (not the epoch-end one); `ctx.logs` holds `val_*`. */
  onValidationEnd?(ctx: CallbackContext): void | Promise<void>;
  onEpochEnd?(ctx: CallbackContext): void | Promise<void>;
  onTrainEnd?(ctx: CallbackContext): void | Promise<void>;
  /** Training failed (an error is on its way out): put things right, e.g. restore the best weights. */
  onTrainError?(ctx: CallbackContext, error: unknown): void | Promise<void>;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void | Promise<void>;
  /** Frees what it holds (tensors, files); called once whatever ends training. */
  dispose?(): void | Promise<void>;
}

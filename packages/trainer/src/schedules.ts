import { z } from 'zod';
import type { Direction } from '@tfpipe/core';
import { isImprovement } from './monitor.js';

const constantSchema = z.object({ type: z.literal('constant') }).strict().describe('The optimizer learning rate, unchanged');

const stepSchema = z
  .object({
    type: z.literal('step'),
    stepSize: z.number().int().min(1).default(10).describe('Epochs between two decays'),
    gamma: z.number().gt(0).default(0.1).describe('Factor applied every `stepSize` epochs'),
  })
  .strict()
  .describe('lr = lr0 * gamma^floor(epochIndex / stepSize)');

const exponentialSchema = z
  .object({
    type: z.literal('exponential'),
    gamma: z.number().gt(0).default(0.95).describe('Factor applied every epoch'),
  })
  .strict()
  .describe('lr = lr0 * gamma^epochIndex');

const cosineSchema = z
  .object({
    type: z.literal('cosine'),
    warmupEpochs: z.number().min(0).default(0).describe('Linear warm-up length in epochs (may be fractional)'),
    minLr: z.number().min(0).default(0).describe('Learning rate at the end of the cosine'),
  })
  .strict()
  .describe('Linear warm-up, then cosine decay from lr0 to minLr over the remaining steps');

const plateauSchema = z
  .object({
    type: z.literal('plateau'),
    monitor: z.string().min(1).optional().describe('Value to watch (default: the early stopping monitor, else "val_loss" / "loss")'),
    factor: z.number().gt(0).lt(1).default(0.1).describe('Factor applied to the lr when the monitor plateaus'),
    patience: z.number().int().min(0).default(3).describe('Epochs without improvement before reducing'),
    minDelta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement'),
    cooldown: z.number().int().min(0).default(0).describe('Epochs to wait after a reduction before watching again'),
    minLr: z.number().min(0).default(0).describe('Lower bound of the learning rate'),
  })
  .strict()
  .describe('Reduce the lr by `factor` when the monitor stops improving');

export const scheduleSchema = z
  .discriminatedUnion('type', [constantSchema, stepSchema, exponentialSchema, cosineSchema, plateauSchema])
  .describe('Learning rate schedule');
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

/** Where training stands, for a schedule. `epoch` is the 0-based index of the current epoch. */
export interface ScheduleProgress {
  epoch: number;
  /** Optimizer steps done before this one (0-based global step). */
  step: number;
  /** Steps per epoch when known (given, or counted in the first epoch). */
  stepsPerEpoch?: number;
  epochs: number;
}

/** Plateau state, saved in checkpoints. */
export interface PlateauState {
  scale: number;
  best?: number;
  wait: number;
  cooldown: number;
}

export function initialPlateauState(): PlateauState {
  return { scale: 1, wait: 0, cooldown: 0 };
}

/**
 * The learning rate for one step, as a pure function. Step and exponential schedules change per epoch;
 * cosine changes per step when the steps per epoch are known, else per epoch.
 */
export function scheduledLearningRate(
  lr0: number,
  schedule: ScheduleConfig | undefined,
  p: ScheduleProgress,
  plateau: PlateauState = initialPlateauState(),
): number {
  if (!schedule) return lr0;
  switch (schedule.type) {
    case 'constant':
      return lr0;
    case 'step':
      return lr0 * schedule.gamma ** Math.floor(p.epoch / schedule.stepSize);
    case 'exponential':
      return lr0 * schedule.gamma ** p.epoch;
    case 'cosine': {
      // In steps when the epoch length is known, else in whole epochs.
      const per = p.stepsPerEpoch ?? 1;
      const t = p.stepsPerEpoch === undefined ? p.epoch : p.step;
      const total = Math.max(1, p.epochs * per);
      const warmup = Math.round(schedule.warmupEpochs * per);
      if (t < warmup) return (lr0 * (t + 1)) / warmup;
      const progress = Math.min(1, (t - warmup) / Math.max(1, total - warmup));
      return schedule.minLr + 0.5 * (lr0 - schedule.minLr) * (1 + Math.cos(Math.PI * progress));
    }
    case 'plateau':
      return Math.max(schedule.minLr, lr0 * plateau.scale);
  }
}

/** One epoch of reduce-on-plateau (pure): the next state and whether the lr was reduced. */
export function plateauStep(
  state: PlateauState,
  value: number | undefined,
  mode: Direction,
  config: Extract<ScheduleConfig, { type: 'plateau' }>,
): { state: PlateauState; reduced: boolean } {
  if (value === undefined) return { state, reduced: false };
  if (isImprovement(value, state.best, mode, config.minDelta)) {
    return { state: { ...state, best: value, wait: 0, cooldown: Math.max(0, state.cooldown - 1) }, reduced: false };
  }
  if (state.cooldown > 0) return { state: { ...state, cooldown: state.cooldown - 1, wait: 0 }, reduced: false };
  const wait = state.wait + 1;
  if (wait >= Math.max(1, config.patience)) {
    return { state: { ...state, scale: state.scale * config.factor, wait: 0, cooldown: config.cooldown }, reduced: true };
  }
  return { state: { ...state, wait }, reduced: false };
}

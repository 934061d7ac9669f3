import { z } from 'zod';
import type { Direction } from '@tfpipe/core';
import { isImprovement } from './monitor.js';

export const earlyStoppingSchema = z
  .object({
    monitor: z.string().min(1).optional().describe('Value to watch: "loss", a metric name, or "val_<name>" (default "val_loss" with a validation set, else "loss")'),
    mode: z
      .enum(['auto', 'min', 'max'])
      .default('auto')
      .describe('"auto" takes the direction the metric declares (loss: min); an explicit mode must agree with it'),
    patience: z.number().int().min(0).default(5).describe('Epochs without improvement before stopping'),
    minDelta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement'),
    baseline: z.number().optional().describe('Stop unless the monitor beats this value within `patience` epochs'),
    startFromEpoch: z.number().int().min(0).default(0).describe('Epochs to train before the monitor is watched (warm-up)'),
    restoreBest: z
      .boolean()
      .default(true)
      .describe('Restore the weights of the best epoch when training ends, whatever ends it (early stop, last epoch, abort)'),
  })
  .strict()
  .describe('Stop when the monitored value stops improving');
export type EarlyStoppingConfig = z.infer<typeof earlyStoppingSchema>;

/** What early stopping remembers between epochs (saved in checkpoints). */
export interface EarlyStoppingState {
  /** Best value watched so far (starts at `baseline` when given). */
  best?: number;
  /** Epochs since the last improvement. */
  wait: number;
}

export function initialEarlyStoppingState(config: Pick<EarlyStoppingConfig, 'baseline'>): EarlyStoppingState {
  return config.baseline === undefined ? { wait: 0 } : { best: config.baseline, wait: 0 };
}

export interface StopDecision {
  stop: boolean;
  reason?: string;
}

/**
 * One epoch of early stopping, as a pure function (no tensors): the next state and whether to stop.
 * `epoch` is 1-based; epochs up to `startFromEpoch` are not watched.
 */
export function earlyStoppingStep(
  state: EarlyStoppingState,
  input: { epoch: number; value: number | undefined; monitor: string; mode: Direction },
  config: Pick<EarlyStoppingConfig, 'patience' | 'minDelta' | 'startFromEpoch'>,
): { state: EarlyStoppingState; decision: StopDecision } {
  if (input.epoch <= config.startFromEpoch) return { state, decision: { stop: false } };
  const { value } = input;
  if (value === undefined) return { state, decision: { stop: false } };
  if (isImprovement(value, state.best, input.mode, config.minDelta)) {
    return { state: { best: value, wait: 0 }, decision: { stop: false } };
  }
  const wait = state.wait + 1;
  const next = { ...state, wait };
  // Keras semantics: patience 3 stops after the 3rd epoch in a row without improvement.
  if (wait >= config.patience) {
    const best = state.best === undefined ? 'none' : state.best.toPrecision(6);
    return {
      state: next,
      decision: {
        stop: true,
        reason: `${input.monitor} did not improve for ${wait} epoch(s) (patience ${config.patience}, best ${best}, mode ${input.mode})`,
      },
    };
  }
  return { state: next, decision: { stop: false } };
}

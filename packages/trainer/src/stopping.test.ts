import { describe, expect, it } from 'vitest';
import { isTfpipeError } from '@tfpipe/core';
import {
  availableMonitors,
  checkTrainConfig,
  earlyStoppingStep,
  initialEarlyStoppingState,
  isImprovement,
  monitorDirection,
  trainSchema,
  type EarlyStoppingState,
} from './index.js';

const es = (over: Record<string, unknown> = {}) => trainSchema.parse({ earlyStopping: over }).earlyStopping!;

/** Runs early stopping over a series of values; returns the epoch it stops at (1-based) or undefined. */
function stopsAt(values: number[], mode: 'min' | 'max', over: Record<string, unknown> = {}): number | undefined {
  const cfg = es(over);
  let state: EarlyStoppingState = initialEarlyStoppingState(cfg);
  for (let i = 0; i < values.length; i++) {
    const r = earlyStoppingStep(state, { epoch: i + 1, value: values[i], monitor: 'm', mode }, cfg);
    state = r.state;
    if (r.decision.stop) return i + 1;
  }
  return undefined;
}

describe('early stopping (pure)', () => {
  it('stops after `patience` epochs without improvement', () => {
    expect(stopsAt([1, 0.9, 0.95, 0.96, 0.97], 'min', { patience: 3 })).toBe(5);
    expect(stopsAt([1, 0.9, 0.95, 0.96, 0.8], 'min', { patience: 3 })).toBeUndefined();
    expect(stopsAt([1, 1.1], 'min', { patience: 0 })).toBe(2);
  });
  it('follows the direction: for a max metric a rise is an improvement', () => {
    expect(stopsAt([0.5, 0.6, 0.7, 0.8], 'max', { patience: 1 })).toBeUndefined();
    expect(stopsAt([0.5, 0.6, 0.7, 0.8], 'min', { patience: 1 })).toBe(2);
  });
  it('minDelta: smaller changes do not count', () => {
    expect(stopsAt([1, 0.995, 0.99, 0.985], 'min', { patience: 2, minDelta: 0.01 })).toBe(3);
  });
  it('baseline: must beat it within patience', () => {
    expect(stopsAt([0.9, 0.85, 0.8], 'min', { patience: 2, baseline: 0.5 })).toBe(2);
    expect(stopsAt([0.9, 0.4, 0.45], 'min', { patience: 2, baseline: 0.5 })).toBeUndefined();
  });
  it('startFromEpoch: early epochs are not watched', () => {
    expect(stopsAt([1, 2, 3, 4, 5], 'min', { patience: 1, startFromEpoch: 3 })).toBe(5);
  });
  it('the stop reason names the monitor, patience and best', () => {
    const cfg = es({ patience: 1 });
    const a = earlyStoppingStep(initialEarlyStoppingState(cfg), { epoch: 1, value: 1, monitor: 'val_loss', mode: 'min' }, cfg);
    const b = earlyStoppingStep(a.state, { epoch: 2, value: 2, monitor: 'val_loss', mode: 'min' }, cfg);
    expect(b.decision).toEqual({ stop: true, reason: 'val_loss did not improve for 1 epoch(s) (patience 1, best 1.00000, mode min)' });
  });
  it('isImprovement: NaN never improves, no best always does', () => {
    expect(isImprovement(Number.NaN, undefined, 'min')).toBe(false);
    expect(isImprovement(3, undefined, 'max')).toBe(true);
    expect(isImprovement(0.5, 0.5, 'min')).toBe(false);
  });
});

describe('monitors and config checks', () => {
  it('lists the monitors a run computes', () => {
    expect(availableMonitors(['accuracy'], true)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    expect(availableMonitors(['accuracy'], false)).toEqual(['loss', 'accuracy']);
  });
  it('takes the direction from the metric declaration, never from the name', () => {
    expect(monitorDirection('val_loss', {})).toBe('min');
    // A metric named like an accuracy but declared 'min' stays 'min'.
    expect(monitorDirection('val_acc_error', { acc_error: 'min' })).toBe('min');
    expect(monitorDirection('val_f1', {})).toBeUndefined();
  });
  it('an unknown monitor is an E_CONFIG issue with the known ones and a suggestion', () => {
    const config = trainSchema.parse({ earlyStopping: { monitor: 'val_acuracy' } });
    const issues = checkTrainConfig(config, { metricNames: ['accuracy'], hasValidation: true });
    expect(issues).toEqual([
      {
        path: ['train', 'earlyStopping', 'monitor'],
        message: 'is not computed by this run',
        received: 'val_acuracy',
        expected: '"loss" | "accuracy" | "val_loss" | "val_accuracy"',
        suggestion: 'val_accuracy',
      },
    ]);
  });
  it('a val_ monitor without validation says so', () => {
    const config = trainSchema.parse({ earlyStopping: { monitor: 'val_loss' } });
    const [issue] = checkTrainConfig(config, { metricNames: [], hasValidation: false });
    expect(issue?.message).toMatch(/no validation set/);
    expect(issue?.suggestion).toBe('loss');
  });
  it('checks warm-up and startFromEpoch against epochs', () => {
    const config = trainSchema.parse({ epochs: 3, schedule: { type: 'cosine', warmupEpochs: 3 }, earlyStopping: { startFromEpoch: 5 } });
    const paths = checkTrainConfig(config, { metricNames: [], hasValidation: false }).map((i) => i.path.join('.'));
    expect(paths).toEqual(['train.earlyStopping.startFromEpoch', 'train.schedule.warmupEpochs']);
  });
  it('the schema is strict and has the documented defaults', () => {
    const d = trainSchema.parse({});
    expect(d.optimizer).toMatchObject({ type: 'adam', learningRate: 0.001 });
    expect(d.epochs).toBe(10);
    expect(d.batchSize).toBe(32);
    expect(d.checkpoint).toEqual({ every: 1, best: true });
    expect(d.loss).toBeUndefined();
    expect(trainSchema.safeParse({ epoch: 3 }).success).toBe(false);
    expect(trainSchema.parse({ earlyStopping: {} }).earlyStopping).toMatchObject({ mode: 'auto', patience: 5, restoreBest: true });
    expect(isTfpipeError(new Error('x'))).toBe(false);
  });
});

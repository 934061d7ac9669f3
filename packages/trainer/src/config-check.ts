import type { Issue } from '@tfpipe/core';
import { defaultMonitor, monitorIssue } from './monitor.js';
import type { TrainConfig } from './schema.js';

/**
 * Cross-field checks on a defaulted train config, before any tensor is made: the monitors must be
 * computed by the run, the warm-up must fit in the run, validation options need a validation set.
 * Paths start with 'train'.
 */
export function checkTrainConfig(config: TrainConfig, ctx: { metricNames: readonly string[]; hasValidation: boolean }): Issue[] {
  const issues: Issue[] = [];
  const { metricNames, hasValidation } = ctx;
  const es = config.earlyStopping;
  if (es?.monitor !== undefined) {
    const i = monitorIssue(es.monitor, metricNames, hasValidation, ['train', 'earlyStopping', 'monitor']);
    if (i) issues.push(i);
  }
  if (es && es.startFromEpoch >= config.epochs) {
    issues.push({
      path: ['train', 'earlyStopping', 'startFromEpoch'],
      message: `must be below train.epochs (${config.epochs}), or early stopping never watches anything`,
      received: es.startFromEpoch,
      expected: `an integer in 0..${config.epochs - 1}`,
    });
  }
  const s = config.schedule;
  if (s?.type === 'plateau' && s.monitor !== undefined) {
    const i = monitorIssue(s.monitor, metricNames, hasValidation, ['train', 'schedule', 'monitor']);
    if (i) issues.push(i);
  }
  if (s?.type === 'cosine' && s.warmupEpochs >= config.epochs) {
    issues.push({
      path: ['train', 'schedule', 'warmupEpochs'],
      message: `must be below train.epochs (${config.epochs})`,
      received: s.warmupEpochs,
      expected: `a number in [0, ${config.epochs})`,
    });
  }
  if (config.validationEverySteps !== undefined && !hasValidation) {
    issues.push({
      path: ['train', 'validationEverySteps'],
      message: 'needs a validation set',
      received: config.validationEverySteps,
      expected: 'no value, or a validation split',
    });
  }
  if (config.optimizer.type === 'sgd' && config.optimizer.nesterov && config.optimizer.momentum === 0) {
    issues.push({ path: ['train', 'optimizer', 'nesterov'], message: 'Nesterov needs momentum > 0', received: true, expected: 'false, or set momentum' });
  }
  const reserved = ['loss', 'lr', 'epoch', 'samplesPerSec', 'seconds'];
  const metricsDup = metricNames.find((m, i) => metricNames.indexOf(m) !== i || reserved.includes(m) || m.startsWith('val_'));
  if (metricsDup !== undefined) {
    issues.push({
      path: ['train', 'metrics'],
      message: 'metric names must be unique, must not start with "val_" and must not be one of the EpochLog fields',
      expected: `names other than ${reserved.join(', ')}`,
      received: metricsDup,
    });
  }
  return issues;
}

/** The monitor the run tracks for best weights and checkpoints/best. */
export function resolveMonitor(config: TrainConfig, hasValidation: boolean): string {
  return config.earlyStopping?.monitor ?? defaultMonitor(hasValidation);
}

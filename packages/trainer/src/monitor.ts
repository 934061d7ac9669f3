import { type Direction, type Issue, didYouMean } from '@tfpipe/core';

/** The loss is the one monitor every run has; lower is better. */
export const LOSS_DIRECTION: Direction = 'min';

/**
 * Everything a run can monitor: `loss`, each metric by name, and their `val_` twins when there is a
 * validation set. Pure, so config checks run before any tensor work.
 */
export function availableMonitors(metricNames: readonly string[], hasValidation: boolean): string[] {
  const train = ['loss', ...metricNames.filter((m) => m !== 'loss')];
  return hasValidation ? [...train, ...train.map((m) => `val_${m}`)] : train;
}

/** The monitor used when the config names none: `val_loss` with a validation set, else `loss`. */
export function defaultMonitor(hasValidation: boolean): string {
  return hasValidation ? 'val_loss' : 'loss';
}

/** An Issue when `monitor` is not computed by this run (unknown name, or `val_` without validation). */
export function monitorIssue(
  monitor: string,
  metricNames: readonly string[],
  hasValidation: boolean,
  path: (string | number)[],
): Issue | undefined {
  const known = availableMonitors(metricNames, hasValidation);
  if (known.includes(monitor)) return undefined;
  const noVal = !hasValidation && monitor.startsWith('val_') && known.includes(monitor.slice(4));
  const suggestion = noVal ? monitor.slice(4) : didYouMean(monitor, known);
  return {
    path,
    message: noVal ? 'monitors a validation value, but the run has no validation set' : 'is not computed by this run',
    received: monitor,
    expected: known.map((k) => JSON.stringify(k)).join(' | '),
    ...(suggestion ? { suggestion } : {}),
  };
}

/**
 * The direction of a monitor, from the metric's own declaration (`StreamingMetric.direction`), never
 * from its name. `loss`/`val_loss` are 'min'.
 */
export function monitorDirection(monitor: string, directions: Readonly<Record<string, Direction>>): Direction | undefined {
  const base = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  if (base === 'loss') return LOSS_DIRECTION;
  return directions[base];
}

/**
 * "Did it improve?" — the one place this is decided (early stopping, best checkpoint, plateau).
 * With no previous best, any finite value is an improvement.
 */
export function isImprovement(value: number, best: number | undefined, mode: Direction, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return mode === 'min' ? value < best - Math.abs(minDelta) : value > best + Math.abs(minDelta);
}

/** The best value seen so far of one monitor, and when. Plain data, saved in checkpoints. */
export interface BestState {
  value?: number;
  epoch?: number;
}

/** Updates a best tracker; returns the new state and whether this epoch is the new best. */
export function trackBest(state: BestState, epoch: number, value: number | undefined, mode: Direction): { state: BestState; improved: boolean } {
  if (value === undefined || !isImprovement(value, state.value, mode)) return { state, improved: false };
  return { state: { value, epoch }, improved: true };
}

import * as tf from '@tensorflow/tfjs-core';
import { TfpipeError } from './errors.js';

/** The number of live tensors in the engine. */
export function countTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and reports how many tensors it left behind. Use in runs (warn) and tests (fail):
 * after a warm-up call, the count must be stable across repeated calls.
 */
export async function measureLeak<T>(fn: () => Promise<T> | T): Promise<{ result: T; leaked: number }> {
  const before = countTensors();
  const result = await fn();
  return { result, leaked: countTensors() - before };
}

/** Throws E_TRAIN when `fn` leaves tensors behind. */
export async function assertNoLeak<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  const { result, leaked } = await measureLeak(fn);
  if (leaked !== 0) throw new TfpipeError('E_TRAIN', `${what} leaked ${leaked} tensor(s)`);
  return result;
}

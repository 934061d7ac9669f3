import type * as tf from '@tensorflow/tfjs-core';
import { TfpipeError, type Direction, type RegistryEntry, type StreamingMetric, type TaskSpec } from '@tfpipe/core';
import type { z } from 'zod';
import { type View, viewOf } from '../views.js';

export type TaskKind = TaskSpec['kind'];

/**
 * A StreamingMetric that can also be fed a pre-read `View` (evaluateModel reads each batch once) and,
 * for structured metrics (confusion matrix, calibration, curves), report `details()`.
 */
export interface EvalMetric extends StreamingMetric {
  updateView(view: View): void;
  details?(): unknown;
}

/** A metric as users name it in YAML. Options come from the object form `{ type, name?, ...options }`. */
export interface MetricEntry extends RegistryEntry {
  /** Higher is better ('max') or lower is better ('min'). Declared, never guessed from the name. */
  direction: Direction;
  /** The tasks this metric is defined for; creating it for another task is a config error. */
  tasks: readonly TaskKind[];
  create(task: TaskSpec, options: Record<string, unknown>): EvalMetric;
}

/** The accumulating part of a metric: what a concrete metric implements. */
export interface Accumulator {
  add(view: View): void;
  value(): number;
  reset(): void;
  details?(): unknown;
}

/** Wraps an accumulator into the StreamingMetric contract (reads tensors synchronously, keeps no tensor). */
export function makeMetric(name: string, direction: Direction, task: TaskSpec, acc: Accumulator): EvalMetric {
  const metric: EvalMetric = {
    name,
    direction,
    update(yTrue: tf.Tensor, yPred: tf.Tensor, sampleWeight?: tf.Tensor) {
      acc.add(viewOf(task, yTrue, yPred, sampleWeight));
    },
    updateView: (view) => acc.add(view),
    result: () => acc.value(),
    reset: () => acc.reset(),
  };
  if (acc.details) metric.details = () => acc.details!();
  return metric;
}

/** Narrows a view to the kind an accumulator handles; anything else is a programming error upstream. */
export function expectKind<K extends View['kind']>(view: View, kinds: readonly K[], metric: string): Extract<View, { kind: K }> {
  if (!(kinds as readonly string[]).includes(view.kind)) {
    throw new TfpipeError('E_USAGE', `metric "${metric}" received ${view.kind} data; it handles ${kinds.join(' | ')}`);
  }
  return view as Extract<View, { kind: K }>;
}

/** Builds a registry entry; the schema is `{ type: <name>, name?: string, ...options }`, strict. */
export function entry(spec: {
  type: string;
  direction: Direction;
  tasks: readonly TaskKind[];
  description: string;
  schema: z.ZodType;
  create(task: TaskSpec, options: Record<string, unknown>): EvalMetric;
}): MetricEntry {
  return { ...spec };
}

/** x / y, or 0 when y is 0 (scikit-learn's zero_division=0 convention). */
export function safeDiv(x: number, y: number): number {
  return y === 0 ? 0 : x / y;
}

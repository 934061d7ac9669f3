import type * as tf from '@tensorflow/tfjs-core';

/** Tensors for one side of a batch: one tensor, or several named ones for multi-input / multi-output models. */
export type Tensors = tf.Tensor | Record<string, tf.Tensor>;

/** One training or evaluation batch. The consumer disposes it. */
export interface Batch {
  xs: Tensors;
  ys: Tensors;
  /** Per-sample weights, shape [batch]. */
  sampleWeight?: tf.Tensor1D;
}

/** Whether a bigger value of a metric is better. Every metric declares it; nobody guesses from names. */
export type Direction = 'max' | 'min';

/** A metric computed batch by batch (the test set never needs to sit in memory). */
export interface StreamingMetric {
  readonly name: string;
  readonly direction: Direction;
  /** Adds one batch; must not keep references to the tensors it is given. */
  update(yTrue: tf.Tensor, yPred: tf.Tensor, sampleWeight?: tf.Tensor): void;
  result(): number;
  reset(): void;
}

/** What the model is asked to do; derives the output head, loss and default metrics. */
export type TaskSpec =
  | { kind: 'multiclass'; classes: number; labels?: string[] }
  | { kind: 'binary'; labels?: string[] }
  | { kind: 'multilabel'; classes: number; labels?: string[] }
  | { kind: 'regression'; outputs: number };

/** One model input as the data provides it. */
export interface InputSpec {
  name: string;
  /** Per-sample shape, without the batch dimension: [28, 28, 1], [4], [maxLen]. */
  shape: number[];
  kind: 'image' | 'tabular' | 'text' | 'sequence';
  dtype?: 'float32' | 'int32';
  /** For text inputs: the vocabulary size including padding (0) and unknown tokens. */
  vocabSize?: number;
}

/** Minimal logger every package accepts; the CLI decides where it goes. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {} };
export const consoleLogger: Logger = {
  info: (m) => console.error(m),
  warn: (m) => console.error(`warning: ${m}`),
};

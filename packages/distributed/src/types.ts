import type { Logger } from '@tfpipe/core';

/** One run of the pipeline with some config paths overridden. */
export interface Trial {
  /** Stable, file-name-safe: `trial-003`, `trial-003-fold-1`, `trial-003-rung-2`. */
  id: string;
  /** Position in the sweep, unique across rungs and folds. */
  index: number;
  /** The hyper-parameter point; its folds and rungs share it. */
  point: number;
  /** The swept values only (config path → value). */
  params: Record<string, unknown>;
  /** Everything set on the base config: `params`, plus `data.split.kfold` and the halving resource. */
  overrides: Record<string, unknown>;
  /** The base config with `overrides` and `seed` applied. */
  config: unknown;
  /** This trial's seed (also written to `config.seed`); shared by the folds and rungs of a point. */
  seed: number;
  fold?: number;
  rung?: number;
}

/** What a trial runner reports. */
export interface TrialOutput {
  metrics: Record<string, number>;
  runDir: string;
}

export interface TrialContext {
  /** A folder for this trial's files: in the sweep directory, or in a queue worker's local scratch folder. */
  runDir: string;
  /** Which try this is (1 for the first; the queue retries). */
  attempt?: number;
  /** Aborted when the sweep is cancelled or times out: stop soon and throw. */
  signal: AbortSignal;
  logger?: Logger;
}

/** Runs one trial. The pipeline's runner wraps runPipeline; tests use small real runners. */
export type TrialRunner = (trial: Trial, context: TrialContext) => Promise<TrialOutput>;

/**
 * Where a child process finds a runner: `/abs/path/module.ts#runTrial`, `./rel.js#name`,
 * or `@scope/package#name`. Without `#name`, the export `runTrial` (else `default`) is used.
 */
export type RunnerRef = string;

export type TrialStatus = 'pending' | 'running' | 'completed' | 'failed';

/** The outcome of one trial, as every executor reports it. */
export interface TrialResult {
  id: string;
  index: number;
  status: 'completed' | 'failed';
  metrics: Record<string, number>;
  runDir: string;
  /** Wall time of the last attempt. */
  durationMs: number;
  /** Attempts made (the queue retries; local runs once). */
  attempts: number;
  /** Who ran it: `local:<pid>` or the queue worker's name. */
  worker?: string;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** Runs trials somewhere and yields each result as it arrives (in completion order). */
export interface Executor {
  readonly kind: string;
  run(trials: readonly Trial[], options: ExecutorRunOptions): AsyncIterable<TrialResult>;
}

export interface ExecutorRunOptions {
  /** Trial run dirs go under `<sweepDir>/trials/<id>` (the queue executor collects them there from the workers). */
  sweepDir: string;
  /** A stable id for the sweep (queue name, Redis keys). */
  sweepId: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** The sweep's metric and direction (the queue executor tells workers, to decide which models to upload). */
  metric?: string;
  direction?: 'max' | 'min';
  /** Called when a trial starts (for status files). */
  onStart?: (trial: Trial, worker: string) => void;
}

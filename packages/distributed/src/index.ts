import { packageVersion } from '@tfpipe/core';

/** This package's version, read from its package.json. */
export const VERSION = packageVersion(import.meta.url);

// Sweep config and expansion (pure)
export { sweepSchema, halvingSchema, retriesSchema, parseSweep, resolveSweep, KFOLD_PATHS } from './sweep-schema.js';
export type { SweepConfig, SweepInput } from './sweep-schema.js';
export { paramSpecSchema, gridValues, sampleParam } from './space.js';
export type { ParamSpec } from './space.js';
export { expandSweep, sweepPoints, sweepSeed, trialsFor, applyOverrides, trialId, kfoldOverrides } from './expand.js';
export type { SweepPoint } from './expand.js';
export { halvingRungs, nextHalvingRung } from './halving.js';
export type { Rung } from './halving.js';
export { parsePath, getPath, setPath, checkPathExists } from './paths.js';
export type { ConfigPath } from './paths.js';

// Running sweeps
export type {
  Trial,
  TrialRunner,
  TrialContext,
  TrialOutput,
  TrialResult,
  TrialStatus,
  RunnerRef,
  Executor,
  ExecutorRunOptions,
} from './types.js';
export { runSweep, createSweepId, initialSummary, SWEEP_FILES } from './sweep.js';
export type { RunSweepOptions } from './sweep.js';
export { runSweepLocally, sweepStatus } from './verbs.js';
export type { RunSweepLocallyOptions } from './verbs.js';
export { createLocalExecutor } from './local-executor.js';
export type { LocalExecutorOptions } from './local-executor.js';
export { executeTrial, runTrialFile, loadRunner, parseRunnerRef, trialDir, TRIAL_FILES } from './harness.js';
export type { ExecuteTrialOptions } from './harness.js';
export { runTrialInChild, workerEntryPath, childExecArgv } from './child.js';
export type { ChildOptions } from './child.js';

// Queue (BullMQ on Redis)
export { startWorker } from './queue-worker.js';
export type { StartWorkerOptions, WorkerHandle } from './queue-worker.js';
export { createQueueExecutor, runSweepOnQueue, sweepStatusFromRedis } from './queue-executor.js';
export type { QueueExecutorOptions, RunSweepOnQueueOptions } from './queue-executor.js';
export { pingRedis, redisOptions, queueName, sweepKeys, DEFAULT_PREFIX } from './queue-shared.js';
export type { RedisConnection } from './queue-shared.js';

// Kubernetes manifests
export { emitKubernetes, validateManifest, kubeName, dataLocations, TRIALS_MOUNT } from './kubernetes.js';
export type { EmitKubernetesOptions, EmittedManifests, DataLocation } from './kubernetes.js';

// Status, summary, plot
export { sweepStatusFromDir, formatSweepTable, overlayResults } from './status.js';
export { meanStd, summarizePoints, rankPoints, bestPoint, trialRow } from './summary.js';
export type { SweepSummary, TrialRow, PointSummary } from './summary.js';
export { plotSweep } from './plot.js';

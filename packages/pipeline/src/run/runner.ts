import { join, relative } from 'node:path';
import '@tfpipe/backend-wasm';
import {
  TfpipeError,
  silentLogger,
  useBackend,
  writeJsonAtomic,
  type Batch,
  type Issue,
  type Logger,
  type StreamingMetric,
} from '@tfpipe/core';
import { openSource, splitDataset, type Dataset, type Row } from '@tfpipe/data';
import { Preprocessor, createTensorizer, type Tensorizer } from '@tfpipe/preprocess';
import { buildModel } from '@tfpipe/models';
import { fit, type FitResult, type ProgressEvent } from '@tfpipe/trainer';
import {
  checkEvaluateConfig,
  checkGates,
  createMetric,
  evaluateModel,
  readEvaluation,
  resolveMetrics,
  writeReport,
  type Evaluation,
  type GateResult,
} from '@tfpipe/evaluate';
import { resolve as resolvePath } from 'node:path';
import { absolutizeDataPaths } from '../config/absolute-paths.js';
import type { LoadedConfig } from '../config/load.js';
import type { PipelineConfig } from '../schema.js';
import { saveModelDir, type ModelMetadata } from './model-dir.js';
import { predictorFor } from './predictor.js';
import { RUN_FILES, createRunDir, readRunInfo, writeResolvedConfig, writeRunInfo, type RunInfo } from './run-dir.js';

export const TFPIPE_VERSION = '0.1.0';

export interface RunOptions {
  /** Folder for new run directories (default: the config's output.dir). */
  runsDir?: string;
  /** Exactly this run directory. */
  out?: string;
  /** Continue this run directory from its last checkpoint. */
  resume?: string;
  logger?: Logger;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Throw E_GATE when a gate fails (default). Sweeps keep the result instead: the run is still marked not blessed. */
  failOnGate?: boolean;
}

export interface RunResult {
  runDir: string;
  info: RunInfo;
  fit: FitResult;
  evaluation?: Evaluation;
  gates: GateResult[];
}

function batches(ds: Dataset<Row>, pre: Preprocessor, tz: Tensorizer, batchSize: number): () => AsyncIterable<Batch> {
  return () => ds.map((r) => pre.transform(r)).batch(batchSize).map((rows) => tz.toBatch(rows) as Batch);
}

function withLocation(loaded: LoadedConfig<unknown>, issue: Issue): Issue {
  const loc = issue.location ?? loaded.locate(issue.path);
  return loc ? { ...issue, location: loc } : issue;
}

/** Rows in the training split, for progress and ETA: known cheaply for sized sources, else undefined. */
async function countRows(train: Dataset<Row>, sourceSize: number | undefined, split: unknown): Promise<number | undefined> {
  if (train.size !== undefined) return train.size;
  if (sourceSize === undefined) return undefined;
  const s = (split ?? {}) as { validation?: number; test?: number | object };
  const held = (s.validation ?? 0) + (typeof s.test === 'number' ? s.test : 0);
  return Math.round(sourceSize * (1 - held));
}

/**
 * Runs a whole pipeline: data → preprocessing fitted on train → model → training (checkpoints,
 * early stopping) → evaluation on the test split → gates → report, all into one run directory.
 */
export async function runPipeline(loaded: LoadedConfig<PipelineConfig>, options: RunOptions = {}): Promise<RunResult> {
  const cfg = loaded.config;
  const log = options.logger ?? silentLogger;
  const resuming = options.resume !== undefined;
  const runDir = options.resume ?? options.out ?? (await createRunDir(options.runsDir ?? cfg.output.dir, cfg.name));
  const startedAt = resuming ? (await readRunInfo(runDir)).startedAt : new Date().toISOString();
  const info: RunInfo = {
    name: cfg.name,
    status: 'running',
    startedAt,
    configFile: relative(process.cwd(), loaded.path),
    seed: cfg.seed,
    tfpipeVersion: TFPIPE_VERSION,
  };
  await writeRunInfo(runDir, info);
  // Absolute data paths: the resolved config reruns (and resumes, `--resume`) from any folder.
  if (!resuming) await writeResolvedConfig(runDir, absolutizeDataPaths(cfg, loaded.baseDir));
  const shown = relative(process.cwd(), runDir);
  log.info(`run directory: ${shown && !shown.startsWith('..') ? shown : runDir}${resuming ? ' (resuming)' : ''}`);

  try {
    const backend = await useBackend(cfg.backend as never, { log: (m) => log.info(m) });
    info.backend = backend.name;

    // Data and splits (a separate test source is part of the split config).
    const source = await openSource(cfg.data.source, { baseDir: loaded.baseDir, logger: log });
    const label = typeof cfg.data.label === 'string' ? cfg.data.label : undefined;
    const split = splitDataset(source.rows(), cfg.data.split ?? {}, {
      seed: cfg.seed,
      baseDir: loaded.baseDir,
      ...(label ? { label } : {}),
    });
    const { train, validation, test } = split;

    // Preprocessing and label encoding, fitted on the training split only.
    const pre = Preprocessor.fromConfig(cfg.preprocess, { seed: cfg.seed });
    await pre.fit(() => train, { columns: source.columns });
    const columns = pre.outputColumns(source.columns);
    const tz = createTensorizer(cfg.data, columns);
    await tz.fit(() => train.map((r) => pre.transform(r)));
    const task = tz.task;
    log.info(`task: ${task.kind}${'classes' in task ? ` (${task.classes} classes)` : ''}; inputs: ${tz.inputs.map((i) => `${i.name}[${i.shape.join('x')}]`).join(', ')}`);

    // Checks that need the task, still before any model tensor exists.
    const evalIssues = checkEvaluateConfig(cfg.evaluate, task);
    if (evalIssues.length) throw TfpipeError.fromIssues(evalIssues.map((i) => withLocation(loaded, i)));

    // Model and training.
    const model = buildModel(cfg.model, { inputs: tz.inputs, task, seed: cfg.seed });
    const metricNames = cfg.train.metrics ?? [];
    const bs = cfg.train.batchSize;
    const trainSize = await countRows(train, source.size, cfg.data.split);
    const fitResult = await fit(model, {
      config: cfg.train,
      train: ({ seed }) =>
        train
          .shuffle(cfg.data.shuffleBuffer, seed)
          .map((r) => pre.transform(r, { training: true }))
          .batch(bs)
          .map((rows) => tz.toBatch(rows) as Batch)[Symbol.asyncIterator]() as unknown as AsyncIterable<Batch>,
      ...(validation ? { validation: batches(validation, pre, tz, bs) } : {}),
      metrics: () => metricNames.map((n: string) => createMetric(n, task) as unknown as StreamingMetric),
      task,
      runDir,
      resume: resuming,
      seed: cfg.seed,
      logger: log,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(trainSize !== undefined ? { stepsPerEpoch: Math.ceil(trainSize / bs) } : {}),
    });
    info.epochs = fitResult.epochsRun;
    info.stopReason = fitResult.stopReason;
    if (fitResult.bestEpoch !== undefined) info.bestEpoch = fitResult.bestEpoch;

    const metadata: ModelMetadata = {
      name: cfg.name,
      task: tz.task,
      inputs: tz.inputs,
      rawColumns: source.columns.map((c) => ({ name: c.name, kind: c.kind, ...(c.shape ? { shape: c.shape } : {}) })),
      ...('labels' in tz.task && tz.task.labels ? { labels: tz.task.labels } : {}),
      trainedAt: new Date().toISOString(),
      backend: backend.name,
      tfpipeVersion: TFPIPE_VERSION,
    };

    // Evaluation on the test split.
    let evaluation: Evaluation | undefined;
    let gates: GateResult[] = [];
    if (test) {
      evaluation = await evaluateModel(predictorFor(model), batches(test, pre, tz, Math.max(bs, 256)), {
        metrics: resolveMetrics(cfg.evaluate, task),
        worst: cfg.evaluate.worst,
        calibrationBins: cfg.evaluate.calibrationBins,
        task: tz.task,
        ...('labels' in tz.task && tz.task.labels ? { labels: tz.task.labels } : {}),
      });
      if (cfg.evaluate.gates) {
        // `vs:` names a baseline run (relative to the working directory) whose evaluation.json the change gates compare to.
        const vs = (cfg.evaluate.gates as { vs?: string }).vs;
        const baseline = vs ? await readEvaluation(resolvePath(vs)) : undefined;
        gates = checkGates(evaluation, cfg.evaluate.gates, baseline);
      }
      metadata.metrics = evaluation.metrics;
      const gateNames = Object.keys(cfg.evaluate.gates ?? {}).filter((k) => k !== 'vs');
      const primary = gateNames[0] ?? resolveMetrics(cfg.evaluate, task).map((m) => (typeof m === 'string' ? m : (m as { name?: string; type: string }).name ?? (m as { type: string }).type))[0];
      if (primary) info.primaryMetric = { name: primary, direction: evaluation.directions?.[primary] ?? 'max' };
      info.metrics = evaluation.metrics;
      await writeJsonAtomic(join(runDir, RUN_FILES.evaluation), {
        ...evaluation,
        bestEpoch: fitResult.bestEpoch,
        stopReason: fitResult.stopReason,
        gates,
      });
    }
    await saveModelDir(join(runDir, RUN_FILES.model), { model, preprocessor: pre, tensorizer: tz, metadata });
    if (evaluation && (cfg.evaluate.report.html || cfg.evaluate.report.png)) {
      await writeReport(
        runDir,
        { title: cfg.name, config: cfg, history: fitResult.history, ...(fitResult.bestEpoch !== undefined ? { bestEpoch: fitResult.bestEpoch } : {}), evaluation, gates },
        { html: cfg.evaluate.report.html, png: cfg.evaluate.report.png },
      );
    }
    const failed = gates.filter((g) => !g.passed);
    info.blessed = failed.length === 0;
    info.status = fitResult.stopReason === 'interrupted' ? 'interrupted' : failed.length ? 'gate-failed' : 'completed';
    info.endedAt = new Date().toISOString();
    await writeRunInfo(runDir, info);
    model.dispose();
    if (failed.length && options.failOnGate !== false) {
      throw new TfpipeError('E_GATE', `${failed.length} gate(s) failed:\n${failed.map((g) => `  - ${g.message}`).join('\n')}`, {
        hint: `The model is saved in ${runDir} but not blessed.`,
      });
    }
    return { runDir, info, fit: fitResult, ...(evaluation ? { evaluation } : {}), gates };
  } catch (e) {
    if (info.status === 'running') {
      info.status = options.signal?.aborted ? 'interrupted' : 'failed';
      info.error = (e as Error).message;
      info.endedAt = new Date().toISOString();
      await writeRunInfo(runDir, info).catch(() => {});
    }
    throw e;
  }
}

import { join, relative, resolve as resolvePath } from 'node:path';
import { setWasmThreads, wasmThreadsFor } from '@tfpipe/backend-wasm';
import { TFPIPE_VERSION, TfpipeError, silentLogger, useBackend, writeJsonAtomic, type Issue, type Logger } from '@tfpipe/core';
import {
  checkEvaluateConfig,
  checkGates,
  evaluateModel,
  readEvaluation,
  resolveMetrics,
  writeReport,
  type Evaluation,
  type GateResult,
} from '@tfpipe/evaluate';
import { compareBeforeAfter, evaluateRobustness, loraLayers, mergeLora, saveAdapters } from '@tfpipe/finetune';
import type { DataSource, ReadProgress, SkipSummary } from '@tfpipe/data';
import { removeStaleTemps, type ProgressEvent } from '@tfpipe/trainer';
import { absolutizeDataPaths } from '../config/absolute-paths.js';
import type { LoadedConfig } from '../config/load.js';
import type { PipelineRegistries } from '../config/registries.js';
import type { PipelineConfig } from '../schema.js';
import { logSkipped, prepareData } from './data-phase.js';
import { explainTestSplit } from './explain-phase.js';
import { saveModelDir, type ModelMetadata } from './model-dir.js';
import { createModel, trainModel, type TrainOutcome } from './model-phase.js';
import { MlflowRun } from './mlflow.js';
import { predictorFor } from './predictor.js';
import { writeRunProfile } from './profile-phase.js';
import { RUN_FILES, claimRunDir, createRunDir, readRunInfo, writeResolvedConfig, writeRunInfo, type RunInfo } from './run-dir.js';

export { TFPIPE_VERSION };

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
  /** Progress of each pass over the data file, with what the pass is for. */
  onDataProgress?: (event: DataProgressEvent) => void;
}

/** A data source's pass progress, and what the pass is for (`training` passes also get the trainer's steps). */
export type DataProgressEvent = ReadProgress & { phase?: string };

export interface RunResult {
  runDir: string;
  info: RunInfo;
  fit: TrainOutcome;
  evaluation?: Evaluation;
  gates: GateResult[];
}

function withLocations(loaded: LoadedConfig<unknown>, e: unknown): unknown {
  if (!(e instanceof TfpipeError) || e.code !== 'E_CONFIG' || e.issues.length === 0) return e;
  if (e.issues.every((i) => i.location)) return e;
  const located = TfpipeError.fromIssues(e.issues.map((i) => withLocation(loaded, i)));
  return new TfpipeError(e.code, located.message, { path: e.path, issues: located.issues, ...(e.hint ? { hint: e.hint } : {}), cause: e });
}

function withLocation(loaded: LoadedConfig<unknown>, issue: Issue): Issue {
  const loc = issue.location ?? loaded.locate(issue.path);
  return loc ? { ...issue, location: loc } : issue;
}

const metricNameOf = (m: unknown): string => (typeof m === 'string' ? m : ((m as { name?: string }).name ?? (m as { type: string }).type));

/**
 * Runs a whole pipeline: data → preprocessing fitted on train → model (built, or prepared from a base for
 * fine-tuning) → training (checkpoints, early stopping, stages) → evaluation on the test split (before vs
 * after, robust accuracy) → gates → report, all into one run directory.
 */
export async function runPipeline(loaded: LoadedConfig<PipelineConfig> & { registries?: PipelineRegistries }, options: RunOptions = {}): Promise<RunResult> {
  const cfg = loaded.config;
  const log = options.logger ?? silentLogger;
  const resuming = options.resume !== undefined;
  const runDir = options.resume ?? (options.out !== undefined ? await claimRunDir(options.out) : await createRunDir(options.runsDir ?? cfg.output.dir, cfg.name));
  // A killed run may have left writeFileAtomic's temporary files: the files they were to replace are whole.
  if (resuming) await removeStaleTemps(runDir);
  const startedAt = resuming ? (await readRunInfo(runDir)).startedAt : new Date().toISOString();
  const info: RunInfo = {
    name: cfg.name,
    status: 'running',
    startedAt,
    configFile: resolvePath(loaded.path),
    seed: cfg.seed,
    tfpipeVersion: TFPIPE_VERSION,
  };
  await writeRunInfo(runDir, info);
  // Absolute data paths: the resolved config reruns (and resumes, `--resume`) from any folder.
  if (!resuming) await writeResolvedConfig(runDir, absolutizeDataPaths(cfg, loaded.baseDir));
  const shown = relative(process.cwd(), runDir);
  log.info(`run directory: ${shown && !shown.startsWith('..') ? shown : runDir}${resuming ? ' (resuming)' : ''}`);
  let mlflow: MlflowRun | undefined;
  let source: DataSource | undefined;

  try {
    // The wasm backend's threads (unless TFPIPE_WASM_THREADS says): data-parallel training runs one wasm
    // instance per core already, so its main thread must not start a pool of its own (MNIST CNN: 1,116
    // samples/s with one against 1,411 without); otherwise every core for a convolutional model, one
    // thread for the rest (see wasmThreadsFor).
    if (!process.env.TFPIPE_WASM_THREADS) setWasmThreads(cfg.train && cfg.train.parallel !== 0 ? 1 : wasmThreadsFor(cfg.model));
    const backend = await useBackend(cfg.backend as never, { log: (m) => log.info(m) });
    info.backend = backend.name;

    if (cfg.tracking?.mlflow) {
      mlflow = await MlflowRun.start(cfg.tracking.mlflow, { name: cfg.name, config: cfg, tags: { 'tfpipe.runDir': runDir } }, log);
      info.tracking = { mlflow: { uri: cfg.tracking.mlflow.uri, runId: mlflow.runId, experimentId: mlflow.experimentId } };
    }
    const onProgress = (e: ProgressEvent) => {
      if (e.type === 'epoch') mlflow?.logMetrics(e.log, e.epoch);
      options.onProgress?.(e);
    };

    const registries = loaded.registries;
    let reading: string | undefined; // what passes over the data are for now, for the progress display
    const data = await prepareData(cfg, {
      baseDir: loaded.baseDir,
      logger: log,
      ...(registries ? { registries } : {}),
      ...(options.onDataProgress ? { onProgress: (p: ReadProgress) => options.onDataProgress!({ ...p, ...(reading ? { phase: reading } : {}) }) } : {}),
      phase: (label) => {
        reading = label;
      },
    });
    source = data.source;
    // Skipped rows are known once a pass has read the data: recorded now, so a run that fails later has them.
    info.skipped = data.source.skipSummary();
    await writeRunInfo(runDir, info);
    const { tz, test } = data;
    const task = tz.task;
    log.info(`task: ${task.kind}${'classes' in task ? ` (${task.classes} classes)` : ''}; inputs: ${tz.inputs.map((i) => `${i.name}[${i.shape.join('x')}]`).join(', ')}`);

    // Checks that need the task, still before any model tensor exists.
    const evalIssues = checkEvaluateConfig(cfg.evaluate, task);
    if (evalIssues.length) throw TfpipeError.fromIssues(evalIssues.map((i) => withLocation(loaded, i)));

    const modelPhase = await createModel(cfg, data, { baseDir: loaded.baseDir, logger: log, ...(registries ? { registries } : {}) });
    reading = 'training';
    const trained = await trainModel(cfg, data, modelPhase, {
      runDir,
      resume: resuming,
      logger: log,
      onProgress,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    info.epochs = trained.epochsRun;
    info.stopReason = trained.stopReason;
    if (trained.bestEpoch !== undefined) info.bestEpoch = trained.bestEpoch;

    // LoRA: keep the adapters alone (small), then fold them into the weights so the saved model is plain.
    let model = modelPhase.model;
    if (loraLayers(model).length > 0) {
      const saved = await saveAdapters(model, join(runDir, 'adapters'));
      log.info(`adapters: ${saved.params.toLocaleString('en-US')} parameters, ${saved.bytes.toLocaleString('en-US')} bytes in adapters/`);
      model = await mergeLora(model);
    }

    const metadata: ModelMetadata = {
      name: cfg.name,
      task,
      inputs: tz.inputs,
      rawColumns: data.source.columns.map((c) => ({ name: c.name, kind: c.kind, ...(c.shape ? { shape: c.shape } : {}) })),
      ...('labels' in task && task.labels ? { labels: task.labels } : {}),
      trainedAt: new Date().toISOString(),
      backend: backend.name,
      tfpipeVersion: TFPIPE_VERSION,
      ...(cfg.plugins.length ? { plugins: cfg.plugins.map((p) => resolvePath(loaded.baseDir, p)) } : {}),
    };

    // Evaluation on the test split: after (and before, for fine-tuning), robust accuracy, gates.
    let evaluation: Evaluation | undefined;
    let before: Evaluation | undefined;
    let robust: Awaited<ReturnType<typeof evaluateRobustness>> | undefined;
    let gates: GateResult[] = [];
    if (test) {
      reading = 'evaluating on the test split';
      const testBatches = data.testBatches(test, Math.max(cfg.train.batchSize, 256));
      const metrics = resolveMetrics(cfg.evaluate, task);
      const opts = {
        metrics,
        worst: cfg.evaluate.worst,
        calibrationBins: cfg.evaluate.calibrationBins,
        task,
        ...('labels' in task && task.labels ? { labels: task.labels } : {}),
      };
      if (modelPhase.finetune) {
        const cmp = await compareBeforeAfter(predictorFor(modelPhase.finetune.before, data.tz), predictorFor(model, data.tz), testBatches, opts);
        before = cmp.before;
        evaluation = cmp.after;
        log.info(`before → after: ${Object.entries(cmp.delta).filter(([, v]) => typeof v === 'number').slice(0, 4).map(([k, v]) => `${k} ${(before!.metrics[k] as number).toFixed(4)} → ${(evaluation!.metrics[k] as number).toFixed(4)} (${(v as number) >= 0 ? '+' : ''}${(v as number).toFixed(4)})`).join(', ')}`);
      } else {
        evaluation = await evaluateModel(predictorFor(model, data.tz), testBatches, opts);
      }
      if (cfg.evaluate.robust) {
        robust = await evaluateRobustness(model, testBatches, cfg.evaluate.robust);
        log.info(`robust accuracy under ${robust.attack.type} (epsilon ${robust.attack.epsilon}): ${robust.robustAccuracy.toFixed(4)} (clean ${robust.accuracy.toFixed(4)})`);
      }
      if (cfg.evaluate.gates) {
        // `vs:` names a baseline run, relative to the config's folder like data paths; change gates compare with its evaluation.json.
        const vs = (cfg.evaluate.gates as { vs?: string }).vs;
        const baseline = vs ? await readEvaluation(resolvePath(loaded.baseDir, vs)) : undefined;
        gates = checkGates(evaluation, cfg.evaluate.gates, baseline);
      }
      metadata.metrics = evaluation.metrics;
      mlflow?.logMetrics(evaluation.metrics, trained.epochsRun, 'test_');
      const gateNames = Object.keys(cfg.evaluate.gates ?? {}).filter((k) => k !== 'vs');
      const primary = gateNames[0] ?? metrics.map(metricNameOf)[0];
      if (primary) info.primaryMetric = { name: primary, direction: evaluation.directions?.[primary] ?? 'max' };
      info.metrics = evaluation.metrics;
      await writeJsonAtomic(join(runDir, RUN_FILES.evaluation), {
        ...evaluation,
        bestEpoch: trained.bestEpoch,
        stopReason: trained.stopReason,
        gates,
        ...(before ? { before: { metrics: before.metrics, samples: before.samples }, delta: diff(before.metrics, evaluation.metrics) } : {}),
        ...(robust ? { robust } : {}),
      });
    }
    // explain: on the test split (explanation.json, and a section of the report).
    const explanation =
      cfg.explain && test
        ? await explainTestSplit(runDir, { explain: cfg.explain, evaluate: cfg.evaluate, model, pre: data.pre, tz, test, seed: cfg.seed, logger: log })
        : undefined;
    await saveModelDir(join(runDir, RUN_FILES.model), { model, preprocessor: data.pre, tensorizer: tz, metadata });
    // The reference profile for drift checks (@tfpipe/monitor): model/profile.json.
    await writeRunProfile(join(runDir, RUN_FILES.model), { cfg, data, model, logger: log });
    if (evaluation && (cfg.evaluate.report.html || cfg.evaluate.report.png)) {
      await writeReport(
        runDir,
        {
          title: cfg.name,
          config: cfg,
          history: trained.history,
          ...(trained.bestEpoch !== undefined ? { bestEpoch: trained.bestEpoch } : {}),
          evaluation,
          gates,
          ...(before ? { before } : {}),
          ...(robust ? { robust } : {}),
          skipped: data.source.skipSummary(),
          ...(explanation ? { explanation } : {}),
        } as Parameters<typeof writeReport>[1],
        { html: cfg.evaluate.report.html, png: cfg.evaluate.report.png },
      );
    }
    const failed = gates.filter((g) => !g.passed);
    info.blessed = failed.length === 0;
    info.status = trained.stopReason === 'interrupted' ? 'interrupted' : failed.length ? 'gate-failed' : 'completed';
    info.endedAt = new Date().toISOString();
    info.skipped = logSkippedIfMore(data.source, info.skipped, log);
    await finishTracking(mlflow, info, info.status === 'interrupted' ? 'KILLED' : 'FINISHED');
    await writeRunInfo(runDir, info);
    if (model !== modelPhase.model) modelPhase.model.dispose();
    model.dispose();
    if (modelPhase.finetune && modelPhase.finetune.before !== modelPhase.model) modelPhase.finetune.before.dispose();
    if (modelPhase.finetune && modelPhase.finetune.base.model !== modelPhase.finetune.before) modelPhase.finetune.base.model.dispose();
    if (failed.length && options.failOnGate !== false) {
      throw new TfpipeError('E_GATE', `${failed.length} gate(s) failed:\n${failed.map((g) => `  - ${g.message}`).join('\n')}`, {
        hint: `The model is saved in ${runDir} but not blessed.`,
      });
    }
    return { runDir, info, fit: trained, ...(evaluation ? { evaluation } : {}), gates };
  } catch (caught) {
    // Config problems found once the data is known (an unknown column, a shape that does not fit) get the
    // same file:line:column as the loader's.
    const e = withLocations(loaded, caught);
    if (info.status === 'running') {
      if (source) info.skipped = source.skipSummary();
      info.status = options.signal?.aborted ? 'interrupted' : 'failed';
      info.error = (e as Error).message;
      info.endedAt = new Date().toISOString();
      await finishTracking(mlflow, info, 'FAILED').catch(() => {});
      await writeRunInfo(runDir, info).catch(() => {});
    }
    throw e;
  }
}

async function finishTracking(mlflow: MlflowRun | undefined, info: RunInfo, status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> {
  if (!mlflow) return;
  const error = await mlflow.finish(status);
  if (error && info.tracking?.mlflow) info.tracking.mlflow.error = error;
}

/** Rows skipped after the first passes (a separate test file, rows only training reached): logged too. */
function logSkippedIfMore(source: DataSource, before: SkipSummary | undefined, log: Logger): SkipSummary {
  const now = source.skipSummary();
  if (now.skipped > (before?.skipped ?? 0)) logSkipped(source, log);
  return now;
}

function diff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (typeof v === 'number' && typeof before[k] === 'number') out[k] = v - (before[k] as number);
  return out;
}

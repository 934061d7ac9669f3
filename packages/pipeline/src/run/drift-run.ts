import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { TfpipeError, silentLogger, useBackend, zodIssues, type Logger } from '@tfpipe/core';
import { openSource, splitDataset, type Dataset, type Row } from '@tfpipe/data';
import {
  decodeImageCells,
  detectDrift,
  feedbackAccuracy,
  driftSchema,
  logSegments,
  profileLike,
  readProfile,
  readRequestLog,
  writeDriftReport,
  type DriftInput,
  type DriftReport,
  type FeedbackAccuracy,
  type Profile,
} from '@tfpipe/monitor';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { chooseWasmThreadsForRun, loadRun } from './model-dir.js';
import { readRunInfo } from './run-dir.js';

const FILE_TYPES: Record<string, 'csv' | 'tsv' | 'jsonl' | 'json'> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

export interface DriftRunOptions {
  /** The drift settings (`driftSchema`; Evidently's defaults when absent). */
  drift?: DriftInput;
  /** Where drift.json and drift.html go (default: the run directory). */
  out?: string;
  /** A request log: only its most recent rows. */
  lastRows?: number;
  /** Data files and configs: predict the current rows with the run's model for prediction drift (default true). */
  predictions?: boolean;
  logger?: Logger;
}

export interface DriftRunResult {
  report: DriftReport;
  files: { json: string; html: string };
}

/** The current rows and (when known) the model's predictions for them. */
async function currentData(
  runDir: string,
  current: string,
  reference: Profile,
  options: DriftRunOptions,
): Promise<{ rows: Iterable<Row> | Dataset<Row>; predictions?: unknown[]; source: string; feedback?: FeedbackAccuracy }> {
  const log = options.logger ?? silentLogger;
  const info = await stat(current).catch(() => undefined);
  if (!info) throw new TfpipeError('E_USAGE', `--current ${current}: no such file or folder`);
  if (info.isDirectory()) {
    const seg = await logSegments(current);
    if (seg.requests.length === 0) {
      throw new TfpipeError('E_USAGE', `--current ${current}: a folder must be a request log (requests-<seq>.jsonl segments from \`pipeline serve --log\`)`);
    }
    const requestLog = await readRequestLog(current, options.lastRows !== undefined ? { lastRows: options.lastRows } : {});
    log.info(`current: ${requestLog.requests.length} logged requests from ${current} (${requestLog.feedback.size} with feedback)`);
    // Images posted as encoded files are logged as base64 text: decoded here, at the profile's shape.
    const decoded = await decodeImageCells(
      requestLog.requests.map((r) => r.inputs),
      reference,
    );
    if (decoded.undecodable) log.warn(`${decoded.undecodable} logged image(s) could not be decoded: counted as missing`);
    const feedback = feedbackAccuracy(requestLog.requests, requestLog.feedback);
    return { rows: decoded.rows, predictions: requestLog.requests.map((r) => r.prediction), source: current, ...(feedback ? { feedback } : {}) };
  }
  const ext = extname(current).toLowerCase();
  let rows: Dataset<Row>;
  if (ext === '.yaml' || ext === '.yml') {
    // A config's test split when it has one (held out, like `pipeline evaluate`), otherwise all its rows.
    const loaded = await loadPipelineConfig(current);
    const cfg = loaded.config;
    const source = await openSource(cfg.data.source, { baseDir: loaded.baseDir, logger: log });
    const split = splitDataset(source.rows(), cfg.data.split ?? {}, { seed: cfg.seed, baseDir: loaded.baseDir });
    rows = split.test ?? source.rows();
    log.info(`current: ${split.test ? 'the test split' : 'all rows'} of ${current}`);
  } else if (FILE_TYPES[ext]) {
    rows = (await openSource({ type: FILE_TYPES[ext], path: resolve(current) }, { baseDir: process.cwd(), logger: log, path: ['--current'] })).rows();
  } else {
    throw new TfpipeError('E_USAGE', `--current ${current}: expected a request log folder, a pipeline YAML or a ${Object.keys(FILE_TYPES).join(', ')} file`);
  }
  if (options.predictions === false || !reference.predictions) return { rows, source: current };
  const all = await rows.toArray();
  await chooseWasmThreadsForRun(runDir);
  await useBackend('auto', { log: (m) => log.info(m) });
  const run = await loadRun(runDir);
  try {
    const predictions: unknown[] = [];
    for (let i = 0; i < all.length; i += 256) predictions.push(...(await run.predict(all.slice(i, i + 256))));
    return { rows: all, predictions, source: current };
  } finally {
    run.model.dispose();
  }
}

/**
 * `pipeline drift <run> --current <log dir | data file | config>`: the run's reference profile
 * (model/profile.json) against the current data, column by column; writes drift.json and drift.html.
 */
export async function driftRun(runDir: string, current: string, options: DriftRunOptions = {}): Promise<DriftRunResult> {
  const parsed = driftSchema.safeParse(options.drift ?? {});
  if (!parsed.success) throw TfpipeError.fromIssues(zodIssues(parsed.error, driftSchema, ['drift'], options.drift));
  const reference = await readProfile(runDir);
  const data = await currentData(runDir, current, reference, options);
  const profile = await profileLike(reference, data.rows, data.predictions ? { predictions: data.predictions } : {});
  const report = detectDrift(reference, profile, parsed.data, { source: data.source });
  if (data.feedback) {
    const testAccuracy = (await readRunInfo(runDir).catch(() => undefined))?.metrics?.accuracy;
    report.feedback = { ...data.feedback, ...(typeof testAccuracy === 'number' ? { reference: testAccuracy } : {}) };
  }
  const files = await writeDriftReport(options.out ?? runDir, report, { title: `Drift: ${runDir} against ${data.source}` });
  return { report, files };
}

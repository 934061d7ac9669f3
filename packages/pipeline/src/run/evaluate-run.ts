import { extname, resolve } from 'node:path';
import { TfpipeError, silentLogger, useBackend, type Batch, type Logger } from '@tfpipe/core';
import { openSource, splitDataset, type Dataset, type Row } from '@tfpipe/data';
import { evaluateModel, resolveMetrics, type Evaluation } from '@tfpipe/evaluate';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { chooseWasmThreadsForRun, loadRun } from './model-dir.js';
import { predictorFor } from './predictor.js';

const FILE_TYPES: Record<string, 'csv' | 'tsv' | 'jsonl' | 'json'> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

/**
 * Evaluates a saved run on new data: a pipeline config (its test split, or all its rows when it has no
 * test split) or a labelled data file. The run's own preprocessing and label encoding are applied.
 */
export async function evaluateRun(runDir: string, data: string, options: { logger?: Logger; batchSize?: number } = {}): Promise<Evaluation> {
  const log = options.logger ?? silentLogger;
  await chooseWasmThreadsForRun(runDir);
  await useBackend('auto', { log: (m) => log.info(m) });
  const run = await loadRun(runDir);
  let rows: Dataset<Row>;
  let metrics: ReturnType<typeof resolveMetrics> | undefined;
  const ext = extname(data).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') {
    const loaded = await loadPipelineConfig(data);
    const cfg = loaded.config;
    const source = await openSource(cfg.data.source, { baseDir: loaded.baseDir, logger: log });
    const split = splitDataset(source.rows(), cfg.data.split ?? {}, { seed: cfg.seed, baseDir: loaded.baseDir });
    rows = split.test ?? source.rows();
    log.info(`evaluating on ${split.test ? 'the test split' : 'all rows'} of ${data}`);
    metrics = resolveMetrics(cfg.evaluate, run.tensorizer.task);
  } else if (FILE_TYPES[ext]) {
    rows = (await openSource({ type: FILE_TYPES[ext], path: resolve(data) }, { baseDir: process.cwd(), logger: log, path: ['data'] })).rows();
  } else {
    throw new TfpipeError('E_USAGE', `--data ${data}: expected a pipeline YAML or a ${Object.keys(FILE_TYPES).join(', ')} file`);
  }
  const bs = options.batchSize ?? 256;
  const batches = () => rows.map((r) => run.preprocessor.transform(r)).batch(bs).map((b) => run.tensorizer.toBatch(b, { scaleTargets: false }) as Batch);
  try {
    return await evaluateModel(predictorFor(run.model, run.tensorizer), batches, {
      task: run.tensorizer.task,
      ...(metrics ? { metrics } : {}),
    });
  } finally {
    run.model.dispose();
  }
}

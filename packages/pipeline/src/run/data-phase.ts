import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError, type Batch, type Logger } from '@tfpipe/core';
import { Dataset, describeSkips, openSource, splitDataset, type DataSource, type ReadProgressListener, type Row, type SkipSummary } from '@tfpipe/data';
import { poissonBatchIndices } from '@tfpipe/trainer';
import { findModelDir } from '@tfpipe/finetune';
import { Preprocessor, createTensorizer, type Tensorizer } from '@tfpipe/preprocess';
import type { PipelineRegistries } from '../config/registries.js';
import type { RowFilter } from '../schema.js';
import type { PipelineConfig } from '../schema.js';
import { MODEL_FILES } from './model-dir.js';

/** The data side of a run: splits, the fitted preprocessing and label encoding, and batch factories. */
export interface DataPhase {
  source: DataSource;
  train: Dataset<Row>;
  validation?: Dataset<Row>;
  test?: Dataset<Row>;
  pre: Preprocessor;
  tz: Tensorizer;
  /** Rows in the training split when known without a pass (progress and ETA). */
  trainSize?: number;
  /** Evaluation-mode batches (no augmentation) of a split, targets scaled as in training (validation). */
  batches(ds: Dataset<Row>, batchSize: number): () => AsyncIterable<Batch>;
  /** Test batches: targets in their original units (compare with `predictorFor(model, tz)`). */
  testBatches(ds: Dataset<Row>, batchSize: number): () => AsyncIterable<Batch>;
  /** Training batches: shuffled with the epoch's seed, augmentation on. */
  trainBatches(batchSize: number): (epoch: { seed: number }) => AsyncIterable<Batch>;
}

function keep(filters: readonly RowFilter[]): (row: Row) => boolean {
  return (row) =>
    filters.every((f) => {
      const v = row[f.column];
      if (f.notMissing && (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)))) return false;
      if (f.in && !f.in.some((x) => x === v)) return false;
      if (f.notIn?.some((x) => x === v)) return false;
      if (f.min !== undefined && !(typeof v === 'number' && v >= f.min)) return false;
      if (f.max !== undefined && !(typeof v === 'number' && v <= f.max)) return false;
      return true;
    });
}

/** For a fine-tuning run of one of our runs without its own `preprocess:`, the base's fitted preprocessing. */
async function basePreprocessor(cfg: PipelineConfig, baseDir: string): Promise<Preprocessor | undefined> {
  if (!cfg.finetune || cfg.preprocess.length > 0) return undefined;
  const dir = await findModelDir(cfg.finetune.base, baseDir);
  const file = join(dir, MODEL_FILES.preprocess);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // Only a missing file means a plain TF.js model folder (no preprocessing of ours); anything else
    // (unreadable, a folder) would train on unprocessed data without a word, so it fails.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TfpipeError('E_IO', `finetune.base: cannot read ${file}: ${(e as Error).message}`, { path: ['finetune', 'base'], cause: e });
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (e) {
    throw new TfpipeError('E_IO', `finetune.base: ${file} is not valid JSON: ${(e as Error).message}`, { path: ['finetune', 'base'], cause: e });
  }
  return Preprocessor.fromJSON(state as Parameters<typeof Preprocessor.fromJSON>[0]);
}

export interface DataPhaseContext {
  baseDir: string;
  logger: Logger;
  registries?: PipelineRegistries;
  /** Progress of each pass over the source's file. */
  onProgress?: ReadProgressListener;
  /** Told what the coming passes over the data are for ("fitting the preprocessing", ...). */
  phase?: (label: string) => void;
}

/** Logs what `onError: skip` dropped, per reason with the first rows; returns the summary. */
export function logSkipped(source: DataSource, logger: Logger): SkipSummary {
  const s = source.skipSummary();
  if (s.skipped > 0) logger.warn(`data: ${s.skipped} ${s.skipped === 1 ? 'row' : 'rows'} skipped (onError: skip): ${describeSkips(s)}`);
  return s;
}

export async function prepareData(cfg: PipelineConfig, ctx: DataPhaseContext): Promise<DataPhase> {
  const reg = ctx.registries;
  const source = await openSource(cfg.data.source, {
    baseDir: ctx.baseDir,
    logger: ctx.logger,
    ...(reg ? { registry: reg.sources } : {}),
    ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
  });
  const known = new Set(source.columns.map((c) => c.name));
  cfg.data.filter.forEach((f, i) => {
    if (!known.has(f.column)) {
      throw TfpipeError.fromIssues([{ path: ['data', 'filter', i, 'column'], message: 'no such column in the source', received: f.column, expected: [...known].join(', ') }]);
    }
  });
  const rows = cfg.data.filter.length ? source.rows().filter(keep(cfg.data.filter)) : source.rows();
  const label = typeof cfg.data.label === 'string' ? cfg.data.label : undefined;
  const split = splitDataset(rows, cfg.data.split ?? {}, { seed: cfg.seed, baseDir: ctx.baseDir, ...(label ? { label } : {}), ...(reg ? { registry: reg.sources } : {}) });
  // The same filter applies to a separate test source.
  const test = split.test && cfg.data.filter.length && typeof cfg.data.split?.test === 'object' ? split.test.filter(keep(cfg.data.filter)) : split.test;
  const { train, validation } = split;

  // Preprocessing and label encoding, fitted on the training split only (or taken from the base run).
  const inherited = await basePreprocessor(cfg, ctx.baseDir);
  const pre = inherited ?? Preprocessor.fromConfig(cfg.preprocess, { seed: cfg.seed, ...(reg ? { registry: reg.transforms } : {}) });
  if (inherited) ctx.logger.info('preprocessing: the base run\'s fitted transforms');
  else {
    ctx.phase?.('splitting, fitting the preprocessing');
    await pre.fit(() => train, { columns: source.columns });
  }
  const tz = createTensorizer(cfg.data, pre.outputColumns(source.columns));
  ctx.phase?.('reading the labels');
  await tz.fit(() => train.map((r) => pre.transform(r)));
  logSkipped(source, ctx.logger);

  // DP-SGD with Poisson sampling draws every step's batch from the whole training split: hold it in memory
  // (raw rows; preprocessing runs per batch as usual), which also gives N exactly for the accountant.
  const privacy = cfg.train.privacy;
  const poissonRows = privacy && privacy.sampling === 'poisson' ? await train.toArray() : undefined;
  let trainSize: number | undefined = poissonRows?.length ?? train.size;
  if (privacy && trainSize === undefined) trainSize = (await train.toArray()).length;
  if (trainSize === undefined && source.size !== undefined && cfg.data.filter.length === 0) {
    const s = (cfg.data.split ?? {}) as { validation?: number; test?: number | object };
    trainSize = Math.round(source.size * (1 - (s.validation ?? 0) - (typeof s.test === 'number' ? s.test : 0)));
  }
  const shuffleBuffer = cfg.data.shuffleBuffer;
  return {
    source,
    train,
    ...(validation ? { validation } : {}),
    ...(test ? { test } : {}),
    pre,
    tz,
    ...(trainSize !== undefined ? { trainSize } : {}),
    batches: (ds, bs) => () => ds.map((r) => pre.transform(r)).batch(bs).map((b) => tz.toBatch(b) as Batch),
    testBatches: (ds, bs) => () => ds.map((r) => pre.transform(r)).batch(bs).map((b) => tz.toBatch(b, { scaleTargets: false }) as Batch),
    trainBatches: (bs) => ({ seed }) =>
      poissonRows
        ? Dataset.from(poissonBatchIndices(poissonRows.length, Math.min(1, bs / poissonRows.length), Math.floor(poissonRows.length / bs), seed))
            .filter((idx) => idx.length > 0)
            .map((idx) => tz.toBatch(idx.map((i) => pre.transform(poissonRows[i]!, { training: true }))) as Batch)
        : (shuffleBuffer > 0 ? train.shuffle(shuffleBuffer, seed) : train)
        .map((r) => pre.transform(r, { training: true }))
        .batch(bs)
        .map((b) => tz.toBatch(b) as Batch),
  };
}

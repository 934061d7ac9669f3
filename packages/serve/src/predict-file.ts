import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { didYouMean, formatIssue, TfpipeError } from '@tfpipe/core';
import { type DataSource, loadImage, openSource, type Row } from '@tfpipe/data';
import type { LoadedRun } from '@tfpipe/pipeline';
import { predictRows, type ServedPrediction } from './predictions.js';
import type { ImageFit } from './records.js';
import { labelNames, type RawColumn } from './request-schema.js';

/** Input file extensions and the @tfpipe/data source type each opens with. */
export const INPUT_TYPES: Record<string, 'csv' | 'tsv' | 'jsonl' | 'json'> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff'];

/** One output line of `pipeline predict`: the row's index (and file, for image folders), then the prediction. */
export type PredictLine = { row: number; file?: string } & ServedPrediction;

export interface PredictFileOptions {
  /** A CSV, TSV, JSONL or JSON file, or a folder of images (searched recursively). */
  input: string;
  /** Rows per model call (and per streamed chunk). */
  batchSize: number;
  /** Receives each output line (a JSON object); awaited, so a slow writer slows reading down. */
  write(line: PredictLine): void | Promise<void>;
  /** Rows done so far, and the total when the source knows it. */
  onProgress?(done: number, total: number | undefined): void;
  /** How images are resized to the input shape (the training data's `fit`). */
  imageFit?: ImageFit;
}

/** The @tfpipe/data column type a raw column was read with at training. */
function sourceType(column: RawColumn, fit: ImageFit): unknown {
  if (column.kind === 'vector') return { type: 'vector', shape: column.shape };
  if (column.kind === 'image') return { type: 'image', shape: column.shape, fit };
  return column.kind;
}

/** Opens a record file with the column types the model was trained with (no re-inference). */
function recordType(file: string): 'csv' | 'tsv' | 'jsonl' | 'json' {
  const ext = extname(file).toLowerCase();
  const type = INPUT_TYPES[ext];
  if (!type) {
    throw new TfpipeError('E_USAGE', `--input ${file}: cannot tell the format from "${ext || '(no extension)'}"`, {
      path: ['input'],
      issues: [{ path: ['input'], message: 'unknown input format', received: ext, expected: `${Object.keys(INPUT_TYPES).join(', ')} or a folder of images` }],
    });
  }
  return type;
}

/**
 * Checks what can be checked without the model: the batch size, that the input exists, and that a file's
 * extension names a format we read. `pipeline predict` calls it before loading the model.
 */
export async function checkPredictInput(options: Pick<PredictFileOptions, 'input' | 'batchSize'>): Promise<'folder' | 'file'> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new TfpipeError('E_USAGE', `--batch-size: received ${JSON.stringify(options.batchSize)}; expected an integer >= 1`, {
      path: ['batchSize'],
      issues: [{ path: ['batchSize'], message: 'not a positive integer', received: options.batchSize, expected: 'an integer >= 1' }],
    });
  }
  const info = await stat(options.input).catch((e: NodeJS.ErrnoException) => {
    throw new TfpipeError('E_USAGE', `--input ${options.input}: ${e.code === 'ENOENT' ? 'no such file or folder' : e.message}`, { path: ['input'] });
  });
  if (info.isDirectory()) return 'folder';
  recordType(options.input);
  return 'file';
}

async function openRecords(file: string, run: LoadedRun, fit: ImageFit): Promise<DataSource> {
  const type = recordType(file);
  const base = { type, path: resolve(file) };
  const probe = await openSource(base, { baseDir: process.cwd(), path: ['input'] });
  const present = new Set(probe.columns.map((c) => c.name));
  const labels = labelNames(run.tensorizer.spec.label);
  const needed = run.metadata.rawColumns.filter((c) => !labels.includes(c.name));
  const missing = needed.filter((c) => !present.has(c.name));
  if (missing.length) {
    // Suggest among the file's columns the model does not read: those are the likely typos.
    const spare = [...present].filter((n) => !needed.some((c) => c.name === n) && !labels.includes(n));
    const issues = missing.map((c) => {
      const suggestion = didYouMean(c.name, spare);
      return { path: ['input', c.name], message: `column missing from ${file}`, expected: `a ${c.kind} column (the model was trained on it)`, ...(suggestion ? { suggestion } : {}) };
    });
    throw new TfpipeError('E_DATA', `${file} lacks ${missing.length} column(s) the model needs:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`, { issues, path: ['input'] });
  }
  const types = Object.fromEntries(run.metadata.rawColumns.filter((c) => present.has(c.name)).map((c) => [c.name, sourceType(c, fit)]));
  return openSource({ ...base, types }, { baseDir: process.cwd(), path: ['input'] });
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listImages(p)));
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/**
 * Batch prediction over a file or an image folder, streamed: rows are read, predicted with the run's own
 * preprocessing `batchSize` at a time, and handed to `write` in input order.
 */
export async function predictFile(run: LoadedRun, options: PredictFileOptions): Promise<{ rows: number }> {
  if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1) {
    // A batch size of 0 would never advance (`i += 0`): refuse it before any file is opened.
    throw new TfpipeError('E_USAGE', `--batch-size: received ${options.batchSize}; expected a whole number >= 1`, {
      issues: [{ path: ['batchSize'], message: 'invalid batch size', received: options.batchSize, expected: 'a whole number >= 1' }],
      path: ['batchSize'],
    });
  }
  const fit = options.imageFit ?? 'fill';
  const kind = await checkPredictInput(options);
  let done = 0;
  const emit = async (rows: Row[], files?: string[]) => {
    const preds = await predictRows(run, rows, options.batchSize);
    for (let i = 0; i < preds.length; i++) await options.write({ row: done + i, ...(files ? { file: files[i]! } : {}), ...preds[i]! });
    done += preds.length;
  };
  if (kind === 'folder') {
    const images = run.metadata.rawColumns.filter((c) => c.kind === 'image');
    if (images.length !== 1) {
      throw new TfpipeError('E_USAGE', `--input ${options.input} is a folder of images, but the model takes ${images.length} image columns`, {
        path: ['input'],
        hint: 'Give a CSV/JSONL file with a path column per image instead.',
      });
    }
    const col = images[0]!;
    const files = await listImages(options.input);
    if (files.length === 0) throw new TfpipeError('E_DATA', `${options.input}: no image files (${IMAGE_EXTENSIONS.join(', ')})`, { path: ['input'] });
    for (let i = 0; i < files.length; i += options.batchSize) {
      const chunk = files.slice(i, i + options.batchSize);
      const rows: Row[] = [];
      for (const f of chunk) {
        const px = await loadImage(f, { shape: col.shape as [number, number, 1 | 3], fit });
        if (typeof px === 'string') throw new TfpipeError('E_DATA', px, { path: ['input', relative(options.input, f)] });
        rows.push({ [col.name]: px });
      }
      await emit(rows, chunk.map((f) => relative(options.input, f)));
      options.onProgress?.(done, files.length);
    }
    return { rows: done };
  }
  const source = await openRecords(options.input, run, fit);
  for await (const rows of source.rows().batch(options.batchSize)) {
    await emit(rows);
    options.onProgress?.(done, source.size);
  }
  return { rows: done };
}

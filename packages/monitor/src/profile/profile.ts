/**
 * `model/profile.json`: the training split's distribution per input column and the model's predictions on
 * the validation split, written at training time so drift checks never need the training data again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError, createRng, writeJsonAtomic, type Rng } from '@tfpipe/core';
import type { ColumnInfo, Row } from '@tfpipe/data';
import {
  CategoricalSketch,
  ImageSketch,
  NumericSketch,
  TextSketch,
  type CategoricalProfile,
  type ColumnProfile,
  type NumericProfile,
} from './sketch.js';

export const PROFILE_FILE = 'profile.json';
export const PROFILE_VERSION = 1;
/** Values kept per number column (a seeded reservoir sample). */
export const DEFAULT_SAMPLE_SIZE = 5000;

/** What the model predicted on a split: labels (classification), the top probability, or values (regression). */
export interface PredictionProfile {
  split: string;
  rows: number;
  label?: CategoricalProfile;
  /** Probability the model gave its predicted label. */
  confidence?: NumericProfile;
  /** Regression output (the first one when there are several). */
  value?: NumericProfile;
}

export interface Profile {
  version: typeof PROFILE_VERSION;
  createdAt: string;
  /** Split the columns were profiled on. */
  split: string;
  rows: number;
  seed: number;
  sampleSize: number;
  columns: Record<string, ColumnProfile>;
  predictions?: PredictionProfile;
}

export interface ProfileOptions {
  /** The raw columns; each gets a summary by its kind (string columns in `text` as text, other strings as categories). */
  columns: readonly Pick<ColumnInfo, 'name' | 'kind' | 'shape'>[];
  /** Columns to leave out (the label). */
  exclude?: readonly string[];
  /** String columns that are free text (tokenized), not categories. */
  text?: readonly string[];
  /**
   * Reservoir sample size per number (default 5,000). Distances are computed on the sample: with 1,000 the
   * sample's own noise gave 7 and 9 false alarms in 40 stable MNIST windows (`pnpm bench --only drift-alarms`).
   */
  sampleSize?: number;
  /** Distinct categories (and words per text column) kept (default 1,000). */
  maxCategories?: number;
  seed?: number;
  split?: string;
}

interface Sketch {
  add(v: unknown): void;
  finish(): ColumnProfile;
}

function sketchFor(col: Pick<ColumnInfo, 'kind' | 'shape'>, isText: boolean, sampleSize: number, maxCategories: number, rng: Rng): Sketch {
  switch (col.kind) {
    case 'number':
      return new NumericSketch(sampleSize, rng);
    case 'boolean':
      return new CategoricalSketch(maxCategories);
    case 'string':
      return isText ? new TextSketch(sampleSize, rng, maxCategories) : new CategoricalSketch(maxCategories);
    case 'image':
      return new ImageSketch(col.shape, sampleSize, rng);
    default:
      return { add() {}, finish: () => ({ kind: 'skipped', reason: `${col.kind} columns have no drift summary yet` }) };
  }
}

/** Summarizes rows column by column in one pass. */
export async function profileRows(rows: AsyncIterable<Row> | Iterable<Row>, options: ProfileOptions): Promise<Profile> {
  const seed = options.seed ?? 0;
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const maxCategories = options.maxCategories ?? 1000;
  const rng = createRng(`profile:${seed}`);
  const exclude = new Set(options.exclude ?? []);
  const text = new Set(options.text ?? []);
  const cols = options.columns.filter((c) => !exclude.has(c.name));
  const sketches = cols.map((c) => sketchFor(c, text.has(c.name), sampleSize, maxCategories, rng));
  let n = 0;
  const add = (row: Row) => {
    n++;
    for (let i = 0; i < cols.length; i++) sketches[i]!.add(row[cols[i]!.name]);
  };
  // Arrays and other plain iterables without a microtask per row.
  if (Symbol.asyncIterator in rows) for await (const row of rows) add(row);
  else for (const row of rows) add(row);
  return {
    version: PROFILE_VERSION,
    createdAt: new Date().toISOString(),
    split: options.split ?? 'train',
    rows: n,
    seed,
    sampleSize,
    columns: Object.fromEntries(cols.map((c, i) => [c.name, sketches[i]!.finish()])),
  };
}

/** One decoded prediction, as the tensorizer's `decode` (and the server) return it. */
export type Prediction =
  | { label: string | number | boolean; probabilities?: Record<string, number> }
  | { labels: (string | number)[]; probabilities?: Record<string, number> }
  | { value: number | number[] };

/** Summarizes predictions (streamed in batches) into label counts, confidence and values. */
export class PredictionSketch {
  private readonly label: CategoricalSketch;
  private readonly confidence: NumericSketch;
  private readonly value: NumericSketch;
  private hasLabel = false;
  private hasConfidence = false;
  private hasValue = false;
  private n = 0;
  constructor(options: { sampleSize?: number; maxCategories?: number; seed?: number } = {}) {
    const rng = createRng(`predictions:${options.seed ?? 0}`);
    this.label = new CategoricalSketch(options.maxCategories ?? 1000);
    this.confidence = new NumericSketch(options.sampleSize ?? DEFAULT_SAMPLE_SIZE, rng);
    this.value = new NumericSketch(options.sampleSize ?? DEFAULT_SAMPLE_SIZE, rng);
  }

  add(p: unknown): void {
    if (!p || typeof p !== 'object') return;
    this.n++;
    const pred = p as Record<string, unknown>;
    if ('label' in pred) {
      this.hasLabel = true;
      this.label.add(pred.label);
      const probs = pred.probabilities as Record<string, number> | undefined;
      if (probs) {
        this.hasConfidence = true;
        this.confidence.add(probs[String(pred.label)] ?? Math.max(...Object.values(probs)));
      }
    } else if ('labels' in pred && Array.isArray(pred.labels)) {
      this.hasLabel = true;
      for (const l of pred.labels) this.label.add(l);
    } else if ('value' in pred) {
      this.hasValue = true;
      this.value.add(Array.isArray(pred.value) ? pred.value[0] : pred.value);
    }
  }

  finish(split: string): PredictionProfile {
    return {
      split,
      rows: this.n,
      ...(this.hasLabel ? { label: this.label.finish() } : {}),
      ...(this.hasConfidence ? { confidence: this.confidence.finish() } : {}),
      ...(this.hasValue ? { value: this.value.finish() } : {}),
    };
  }
}

export async function writeProfile(modelDir: string, profile: Profile): Promise<string> {
  const path = join(modelDir, PROFILE_FILE);
  await writeJsonAtomic(path, profile);
  return path;
}

/** Reads `<run>/model/profile.json` (a run directory or its model folder). */
export async function readProfile(runOrModelDir: string): Promise<Profile> {
  const candidates = [join(runOrModelDir, 'model', PROFILE_FILE), join(runOrModelDir, PROFILE_FILE)];
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    const p = JSON.parse(text) as Profile;
    if (p.version !== PROFILE_VERSION) {
      throw new TfpipeError('E_IO', `${path}: profile version ${String(p.version)}; this tfpipe reads version ${PROFILE_VERSION}`);
    }
    return p;
  }
  throw new TfpipeError('E_IO', `no reference profile in ${runOrModelDir} (looked for ${candidates.join(', ')})`, {
    hint: 'Runs trained by this version of tfpipe write model/profile.json; retrain the run to get one.',
  });
}

const KIND_OF: Record<string, Pick<ColumnInfo, 'kind'>['kind']> = { numeric: 'number', categorical: 'string', text: 'string', image: 'image' };

/**
 * Profiles current data the way `reference` was profiled (same columns, same kinds), keeping every value
 * rather than a sample so the tests see all of it. `predictions` are the model's outputs for these rows.
 */
export async function profileLike(
  reference: Profile,
  rows: AsyncIterable<Row> | Iterable<Row>,
  options: { predictions?: Iterable<unknown>; split?: string; maxValues?: number } = {},
): Promise<Profile> {
  const columns = Object.entries(reference.columns)
    .filter(([, p]) => p.kind !== 'skipped')
    .map(([name, p]) => ({ name, kind: KIND_OF[p.kind]!, ...(p.kind === 'image' && p.shape ? { shape: p.shape } : {}) }));
  const text = Object.entries(reference.columns)
    .filter(([, p]) => p.kind === 'text')
    .map(([name]) => name);
  const maxValues = options.maxValues ?? 1_000_000;
  const profile = await profileRows(rows, { columns, text, sampleSize: maxValues, maxCategories: maxValues, seed: reference.seed, split: options.split ?? 'current' });
  if (options.predictions) {
    const sketch = new PredictionSketch({ sampleSize: maxValues, maxCategories: maxValues, seed: reference.seed });
    for (const p of options.predictions) sketch.add(p);
    profile.predictions = sketch.finish(options.split ?? 'current');
  }
  return profile;
}

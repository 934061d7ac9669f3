import { createRng, hashSeed, TfpipeError, parseSection, } from '@tfpipe/core';
import { z } from 'zod';
import { Dataset } from './dataset.js';
import { openSource, sourceSchema, sourceSchemaFor } from './registry.js';
import type { SourceRegistry } from './source.js';
import type { Row, Value } from './types.js';

const fraction = z.number().min(0).max(1);

/** `data.split` for the sources of a registry (a separate test set may be any of them). */
export function splitSchemaFor(source: z.ZodType) {
  return z
  .object({
    validation: fraction.default(0).describe('Fraction of rows for validation (random, seeded)'),
    test: z
      .union([fraction, z.object({ source }).strict()])
      .default(0)
      .describe('Fraction of rows for test, or { source: ... } for a separate test set'),
    seed: z.number().int().optional().describe('Seed of the split (default: the run seed)'),
    stratify: z
      .union([z.string().min(1), z.literal(true)])
      .optional()
      .describe('Keep class proportions in each split by this column (true: the label column); reads the labels once first'),
    by: z.string().min(1).optional().describe('A column whose values name the split: "train" | "validation" | "test"'),
    key: z
      .string()
      .min(1)
      .optional()
      .describe('Assign by a hash of this column (an id) instead of the row position, so a row keeps its split when the file is reordered'),
    kfold: z.number().int().min(2).optional().describe('k-fold cross-validation: k folds of the non-test rows'),
    fold: z.number().int().min(0).default(0).describe('With kfold: the fold used for validation (0-based)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const testFrac = typeof s.test === 'number' ? s.test : 0;
    if (s.validation + testFrac >= 1) ctx.addIssue({ code: 'custom', path: ['validation'], message: `validation + test must be below 1, received ${s.validation} + ${testFrac}` });
    if (s.by !== undefined && (s.validation > 0 || testFrac > 0 || s.stratify !== undefined || s.kfold !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['by'], message: '`by` names the splits itself: drop validation/test fractions, stratify and kfold' });
    }
    if (s.kfold !== undefined && s.validation > 0) ctx.addIssue({ code: 'custom', path: ['validation'], message: 'with kfold the validation rows are the fold; drop `validation`' });
    if (s.kfold !== undefined && s.fold >= s.kfold) ctx.addIssue({ code: 'custom', path: ['fold'], message: `fold must be below kfold (${s.kfold}), received ${s.fold}` });
    if (s.stratify !== undefined && s.key !== undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'stratify and key cannot be combined' });
  })
  .describe('Train / validation / test split');
}

/** `data.split`: how rows are divided into train / validation / test. */
export const splitSchema = splitSchemaFor(sourceSchema);

export type SplitConfig = z.input<typeof splitSchema>;

export interface Splits {
  train: Dataset<Row>;
  validation?: Dataset<Row>;
  test?: Dataset<Row>;
}

export interface SplitOptions {
  /** Used when the split config has no seed. */
  seed: number;
  /** The label column, used by `stratify: true`. */
  label?: string;
  /** Folder for a separate test source's relative paths. */
  baseDir?: string;
  registry?: SourceRegistry;
  /** Config path of the split block, for messages; default ['data', 'split']. */
  path?: (string | number)[];
}

const TRAIN = 0;
const VALIDATION = 1;
const TEST = 2;
const NAMES = ['train', 'validation', 'test'] as const;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by (seed, i): the same row always lands in the same split. */
export function splitHash(seed: number, i: number | string): number {
  const x = typeof i === 'number' ? fmix((i >>> 0) + 0x9e3779b9) ^ Math.floor(i / 4294967296) : hashSeed(i);
  return fmix((seed >>> 0) ^ fmix(x)) / 4294967296;
}

function part(u: number, testFrac: number, valFrac: number, kfold: number | undefined, fold: number): number {
  if (u < testFrac) return TEST;
  if (kfold !== undefined) return Math.min(kfold - 1, Math.floor(((u - testFrac) / (1 - testFrac)) * kfold)) === fold ? VALIDATION : TRAIN;
  return u < testFrac + valFrac ? VALIDATION : TRAIN;
}

function keyOf(v: Value | undefined): string {
  if (v instanceof Float32Array || v instanceof Uint8Array) return Array.from(v).join(',');
  return `${typeof v}:${String(v)}`;
}

/**
 * Splits rows into train / validation / test, reproducibly and disjointly. Fractions and k-fold assign
 * row i by a seeded hash (streaming, nothing held); `stratify` first reads the label column once (only the
 * labels are held) and then takes exact per-class shares; `by` reads the split name from a column.
 */
export function splitDataset(rows: Dataset<Row>, split: SplitConfig, options: SplitOptions): Splits {
  const path = options.path ?? ['data', 'split'];
  const s = parseSection(options.registry ? splitSchemaFor(sourceSchemaFor(options.registry)) : splitSchema, split, path);
  const seed = hashSeed(s.seed ?? options.seed);
  const testFrac = typeof s.test === 'number' ? s.test : 0;
  if (s.stratify === true && options.label === undefined) {
    throw TfpipeError.fromIssues([{ path: [...path, 'stratify'], message: 'stratify: true needs the label column (data.label); or name a column', received: true, expected: 'a column name' }]);
  }
  const stratify = s.stratify === true ? options.label : s.stratify;

  let partOf: () => Promise<(row: Row, i: number) => number>;
  if (s.by !== undefined) {
    const by = s.by;
    partOf = async () => (row, i) => {
      const v = row[by];
      const k = NAMES.indexOf(v as (typeof NAMES)[number]);
      if (k < 0) {
        throw new TfpipeError('E_DATA', `${[...path, 'by'].join('.')}: row ${i + 1} has ${by} = ${JSON.stringify(v)}; expected "train" | "validation" | "test"`, {
          path: [...path, 'by'],
          issues: [{ path: [...path, 'by'], message: `row ${i + 1}`, received: v, expected: '"train" | "validation" | "test"' }],
        });
      }
      return k;
    };
  } else if (stratify !== undefined) {
    let assignment: Promise<Uint8Array> | undefined;
    partOf = async () => {
      assignment ??= stratifiedAssignment(rows, stratify, seed, testFrac, s.validation, s.kfold, s.fold, path);
      const a = await assignment;
      return (_row, i) => {
        if (i >= a.length) throw new TfpipeError('E_DATA', `the rows changed between passes: row ${i + 1} was not there when the labels were read`, { path: [...path, 'stratify'] });
        return a[i]!;
      };
    };
  } else {
    const key = s.key;
    partOf = async () => (row, i) => part(splitHash(seed, key === undefined ? i : keyOf(row[key])), testFrac, s.validation, s.kfold, s.fold);
  }

  const pick = (which: number): Dataset<Row> =>
    Dataset.from(async function* () {
      const f = await partOf();
      let i = 0;
      for await (const row of rows) if (f(row, i++) === which) yield row;
    });

  const out: Splits = { train: pick(TRAIN) };
  if (s.by !== undefined || s.validation > 0 || s.kfold !== undefined) out.validation = pick(VALIDATION);
  if (typeof s.test === 'object') {
    const testSource = s.test.source;
    out.test = Dataset.from(async function* () {
      const src = await openSource(testSource, { baseDir: options.baseDir ?? process.cwd(), ...(options.registry ? { registry: options.registry } : {}), path: [...path, 'test', 'source'] });
      yield* src.rows();
    });
  } else if (s.by !== undefined || testFrac > 0) out.test = pick(TEST);
  return out;
}

async function stratifiedAssignment(
  rows: Dataset<Row>,
  column: string,
  seed: number,
  testFrac: number,
  valFrac: number,
  kfold: number | undefined,
  fold: number,
  path: (string | number)[],
): Promise<Uint8Array> {
  const groups = new Map<string, number[]>();
  let n = 0;
  for await (const row of rows) {
    if (!(column in row)) {
      throw new TfpipeError('E_CONFIG', `${[...path, 'stratify'].join('.')}: rows have no column "${column}" (columns: ${Object.keys(row).join(', ')})`, { path: [...path, 'stratify'] });
    }
    const k = keyOf(row[column]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(n++);
  }
  const a = new Uint8Array(n);
  // Groups in sorted order, each shuffled by its own seeded stream, so the result does not depend on row order of other classes.
  for (const k of [...groups.keys()].sort()) {
    const idx = createRng(hashSeed(`${seed}:${k}`)).shuffle(groups.get(k)!);
    const nTest = Math.round(idx.length * testFrac);
    const rest = idx.length - nTest;
    const nVal = kfold === undefined ? Math.round(idx.length * valFrac) : 0;
    idx.forEach((r, j) => {
      if (j < nTest) a[r] = TEST;
      else if (kfold !== undefined) a[r] = (j - nTest) % kfold === fold ? VALIDATION : TRAIN;
      else a[r] = j - nTest < Math.min(nVal, rest) ? VALIDATION : TRAIN;
    });
  }
  return a;
}

/** The k train/validation pairs of k-fold cross-validation (test rows, if any, left out of all of them). */
export function kfoldSplits(rows: Dataset<Row>, split: SplitConfig & { kfold: number }, options: SplitOptions): Splits[] {
  return Array.from({ length: split.kfold }, (_, fold) => splitDataset(rows, { ...split, fold }, options));
}

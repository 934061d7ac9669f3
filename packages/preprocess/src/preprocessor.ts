import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError, writeJsonAtomic, type Issue, zodIssues } from '@tfpipe/core';
import { type ColumnInfo, copyRowOrigin, type Row } from './_row.js';
import type { Column } from './columns.js';
import { createTransformRegistry, type TransformRegistry } from './registry.js';
import type { ApplyOptions, Fitter, Transform, TransformEntry } from './transform.js';

export const PREPROCESS_FILE = 'preprocess.json';

/** What `toJSON` writes to `preprocess.json`. */
export interface PreprocessorState {
  format: 'tfpipe.preprocess';
  version: 1;
  seed: number;
  /** The columns last given to `outputColumns` (the raw source columns). */
  inputColumns?: Column[];
  transforms: { config: { type: string } & Record<string, unknown>; state: unknown }[];
}

export interface PreprocessorOptions {
  registry?: TransformRegistry;
  /** Seeds augmentation transforms that have no `seed` of their own. */
  seed?: number;
  /** Config path of the list, for error messages. */
  path?: (string | number)[];
}

/** An ordered list of transforms, fitted on the training split only and saved with the model. */
export class Preprocessor {
  private inputColumns: Column[] | undefined;

  private constructor(
    private readonly configs: PreprocessorState['transforms'][number]['config'][],
    readonly transforms: readonly Transform[],
    private readonly seed: number,
    private readonly path: (string | number)[],
  ) {}

  /** Validates each item against its registry entry's schema (defaults filled in) and builds the transforms. */
  static fromConfig(list: readonly unknown[], options: PreprocessorOptions = {}): Preprocessor {
    const registry = options.registry ?? createTransformRegistry();
    const path = options.path ?? ['preprocess'];
    const seed = options.seed ?? 0;
    const issues: Issue[] = [];
    const configs: PreprocessorState['transforms'][number]['config'][] = [];
    const transforms: Transform[] = [];
    list.forEach((item, index) => {
      const type = item && typeof item === 'object' ? (item as { type?: unknown }).type : undefined;
      if (typeof type !== 'string') {
        issues.push({ path: [...path, index, 'type'], message: 'each transform needs a `type`', received: type, expected: registry.types().map((t) => JSON.stringify(t)).join(' | ') });
        return;
      }
      let entry: TransformEntry;
      try {
        entry = registry.get(type, [...path, index, 'type']);
      } catch (e) {
        if (e instanceof TfpipeError) issues.push(...e.issues);
        else throw e;
        return;
      }
      const parsed = entry.schema.safeParse(item);
      if (!parsed.success) {
        issues.push(...zodIssues(parsed.error, entry.schema, [...path, index], item));
        return;
      }
      try {
        transforms.push(entry.create(parsed.data, { seed, index }));
      } catch (e) {
        // A transform that refuses its config when built (a missing secret, an invalid pattern) is a
        // config problem at its own place in the list.
        if (!(e instanceof TfpipeError) || e.code !== 'E_CONFIG' || e.issues.length === 0) throw e;
        issues.push(...e.issues.map((i) => ({ ...i, path: [...path, index, ...i.path] })));
        return;
      }
      configs.push(parsed.data as PreprocessorState['transforms'][number]['config']);
    });
    if (issues.length) throw TfpipeError.fromIssues(issues);
    return new Preprocessor(configs, transforms, seed, path);
  }

  /** True when every transform that learns something has learnt it. */
  get fitted(): boolean {
    return this.transforms.every((t) => !t.needsFit());
  }

  /**
   * Fits the transforms in order, each on the output of the ones before it. Consecutive transforms that
   * do not read each other's columns share one streaming pass; `rows` is called once per pass.
   * Pass `columns` (the raw source columns) when image transforms need to know shapes.
   */
  async fit(rows: () => AsyncIterable<Row>, options: { columns?: readonly ColumnInfo[] } = {}): Promise<void> {
    if (options.columns) this.outputColumns(options.columns);
    const ts = this.transforms;
    const done = new Set<number>();
    for (;;) {
      const start = ts.findIndex((t, k) => t.fitter !== undefined && !done.has(k));
      if (start < 0) return;
      // Group the transforms fitted in this pass; `tainted` are columns not final yet in this pass.
      const tainted = new Set<string>();
      const fitters = new Map<number, Fitter>();
      const applied = new Set<number>();
      let end = start;
      for (let k = 0; k < ts.length; k++) {
        const t = ts[k]!;
        const touches = t.columns.some((c) => tainted.has(c));
        if (k >= start && t.fitter && !done.has(k)) {
          if (touches) break;
          fitters.set(k, t.fitter());
          for (const c of t.columns) tainted.add(c);
          end = k;
        } else if (touches) {
          for (const c of t.columns) tainted.add(c);
        } else {
          applied.add(k);
        }
      }
      const opts: ApplyOptions = { training: false };
      for await (const row of rows()) {
        const r: Row = copyRowOrigin(row, { ...row });
        for (let k = 0; k <= end; k++) {
          const f = fitters.get(k);
          if (f) f.update(r);
          else if (applied.has(k)) ts[k]!.apply(r, opts);
        }
      }
      for (const [k, f] of fitters) {
        f.finish();
        done.add(k);
      }
    }
  }

  /** Transforms one row into a new row (the input is not changed). Augmentation only runs with `training: true`. */
  transform(row: Row, options: ApplyOptions = {}): Row {
    const r: Row = copyRowOrigin(row, { ...row });
    const opts = { training: options.training ?? false };
    for (const t of this.transforms) t.apply(r, opts);
    return r;
  }

  /**
   * The columns after preprocessing, from the raw source columns. Throws E_CONFIG listing every unknown
   * column (with did-you-mean) or wrong kind. Dimensions only fit can tell are -1 before fit.
   */
  outputColumns(columns: readonly ColumnInfo[]): Column[] {
    this.inputColumns = columns.map((c) => ({ ...c }));
    const issues: Issue[] = [];
    let cols: Column[] = columns.map((c) => ({ ...c }));
    this.transforms.forEach((t, i) => {
      cols = t.outputColumns(cols, [...this.path, i], issues);
    });
    if (issues.length) throw TfpipeError.fromIssues(issues);
    return cols;
  }

  toJSON(): PreprocessorState {
    return {
      format: 'tfpipe.preprocess',
      version: 1,
      seed: this.seed,
      ...(this.inputColumns ? { inputColumns: this.inputColumns } : {}),
      transforms: this.transforms.map((t, i) => ({ config: this.configs[i]!, state: t.state() })),
    };
  }

  /** Rebuilds a fitted preprocessor from `toJSON()` output. */
  static fromJSON(state: unknown, options: { registry?: TransformRegistry } = {}): Preprocessor {
    const s = state as Partial<PreprocessorState>;
    if (s?.format !== 'tfpipe.preprocess' || s.version !== 1 || !Array.isArray(s.transforms)) {
      throw new TfpipeError('E_IO', 'Not a tfpipe preprocess state (expected format "tfpipe.preprocess", version 1)', {
        issues: [{ path: ['format'], message: 'unrecognised preprocess state', received: s?.format, expected: '"tfpipe.preprocess" version 1' }],
      });
    }
    const p = Preprocessor.fromConfig(
      s.transforms.map((t) => t.config),
      { seed: s.seed ?? 0, ...(options.registry ? { registry: options.registry } : {}) },
    );
    if (s.inputColumns) p.outputColumns(s.inputColumns);
    s.transforms.forEach((t, i) => {
      p.transforms[i]!.load(t.state);
    });
    return p;
  }

  /** Writes `<dir>/preprocess.json` atomically. */
  async save(dir: string): Promise<void> {
    await writeJsonAtomic(join(dir, PREPROCESS_FILE), this.toJSON());
  }

  /** Reads `<dir>/preprocess.json`. */
  static async load(dir: string, options: { registry?: TransformRegistry } = {}): Promise<Preprocessor> {
    const file = join(dir, PREPROCESS_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new TfpipeError('E_IO', `Cannot read ${file}: ${(e as Error).message}`, { cause: e, path: [file] });
    }
    return Preprocessor.fromJSON(JSON.parse(text), options);
  }
}

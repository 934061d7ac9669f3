import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import type { z } from 'zod';
import { TfpipeError, formatValue, zodIssues, type Issue, type SourceLocation } from '@tfpipe/core';
import { absolutizeDataPaths } from './absolute-paths.js';
import { deepMerge, getPath, hasPath, isPlainObject, parsePath, setPath } from './paths.js';
import { readYamlSource, type YamlSource } from './yaml-source.js';

export interface LoadOptions<S extends z.ZodType> {
  /** The schema to validate against (the pipeline's, possibly extended by the CLI). */
  schema: S;
  /** `--set path=value` overrides, applied after `extends:` and the file itself. */
  set?: readonly string[];
  /** Cross-field checks on the fully defaulted config; run only when the schema passed. */
  checks?: (config: z.output<S>, raw: unknown) => Issue[];
  /** Where preset names in `extends:` are looked up; default: the nearest `configs/` folder above the file. */
  presetDirs?: readonly string[];
  /**
   * Runs on the merged input before validation (e.g. loads the config's plugins) and may return the schema to
   * validate against instead of `schema` (one built from registries the plugins filled).
   */
  prepare?: (raw: Record<string, unknown>, ctx: { baseDir: string; locate: LoadedConfig<unknown>['locate'] }) => Promise<z.ZodType | undefined>;
}

export interface LoadedConfig<T> {
  config: T;
  /** The merged input before defaults, as written by the user (and presets and --set). */
  raw: Record<string, unknown>;
  /** The config file's absolute path and folder (relative data paths are resolved from the folder). */
  path: string;
  baseDir: string;
  /** Every file read, base presets first. */
  files: string[];
  /** Where a value came from: file:line:column, or the --set that wrote it. */
  locate(path: readonly (string | number)[], opts?: { key?: boolean }): SourceLocation | undefined;
}

interface Layer {
  source: YamlSource | { file: string; value: unknown; locate: YamlSource['locate'] };
}

const MAX_EXTENDS_DEPTH = 10;

function presetCandidates(name: string, fromDir: string, extra: readonly string[]): string[] {
  const withExt = /\.ya?ml$/.test(name) ? [name] : [`${name}.yaml`, `${name}.yml`];
  const dirs = [...extra];
  let d = resolve(fromDir);
  for (;;) {
    dirs.push(join(d, 'configs'));
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return dirs.flatMap((dir) => withExt.map((f) => join(dir, f)));
}

/** The `extends:` entry that led to a file: where it is written, and its path in that file. */
interface Via {
  path: (string | number)[];
  location?: SourceLocation;
}

async function readLayers(file: string, display: string, presetDirs: readonly string[], seen: string[], via?: Via): Promise<Layer[]> {
  const at = (): Pick<Issue, 'location'> => (via?.location ? { location: via.location } : {});
  if (seen.includes(file)) {
    // Named at the `extends:` that closes the cycle, the one that leads back to a file already being read.
    const chain = [...seen.slice(seen.indexOf(file)), file].map((f) => relative(process.cwd(), f) || f);
    throw TfpipeError.fromIssues([
      { code: 'invalid', path: via?.path ?? ['extends'], message: `extends: cycle ${chain.join(' -> ')}`, received: relative(process.cwd(), file) || file, expected: 'a preset that does not extend this file again', ...at() },
    ]);
  }
  if (seen.length > MAX_EXTENDS_DEPTH) {
    throw TfpipeError.fromIssues([{ code: 'invalid', path: via?.path ?? ['extends'], message: `extends: more than ${MAX_EXTENDS_DEPTH} levels`, ...at() }]);
  }
  const source = await readYamlSource(file, display);
  if (source.value !== null && source.value !== undefined && !isPlainObject(source.value)) {
    throw TfpipeError.fromIssues([{ path: [], message: 'a config file must be a mapping', received: source.value, location: source.locate([]) ?? { file: display, line: 1, column: 1 } }]);
  }
  const value = (source.value ?? {}) as Record<string, unknown>;
  const ext = value.extends;
  const layers: Layer[] = [];
  if (ext !== undefined) {
    const list = typeof ext === 'string' ? [ext] : Array.isArray(ext) && ext.every((e) => typeof e === 'string') ? (ext as string[]) : null;
    if (!list) {
      throw TfpipeError.fromIssues([{ path: ['extends'], message: 'wrong type', received: ext, expected: 'a preset name or a relative path, or a list of them', location: source.locate(['extends']) ?? { file: display, line: 1, column: 1 } }]);
    }
    for (const [i, name] of list.entries()) {
      const isPath = name.startsWith('.') || isAbsolute(name);
      const candidates = isPath ? [resolve(dirname(file), name)] : presetCandidates(name, dirname(file), presetDirs);
      const found = candidates.find((c) => existsSync(c));
      if (!found) {
        const loc = source.locate(typeof ext === 'string' ? ['extends'] : ['extends', i]);
        throw TfpipeError.fromIssues([{
          path: typeof ext === 'string' ? ['extends'] : ['extends', i],
          message: isPath ? 'no such file' : 'no such preset',
          received: name,
          expected: isPath ? `a file at ${candidates[0]}` : 'a preset in a configs/ folder (e.g. configs/mnist.yaml) or a relative path starting with ./',
          ...(loc ? { location: loc } : {}),
        }]);
      }
      const entryPath = typeof ext === 'string' ? ['extends'] : ['extends', i];
      const loc = source.locate(entryPath);
      layers.push(...(await readLayers(found, relative(process.cwd(), found) || found, presetDirs, [...seen, file], { path: entryPath, ...(loc ? { location: loc } : {}) })));
    }
  }
  const { extends: _drop, ...rest } = value;
  // A preset's data paths are relative to the preset's own folder, not to the file that extends it.
  const own = seen.length > 0 ? absolutizeDataPaths(rest, dirname(file), { keepUnresolvedNpm: true }) : rest;
  layers.push({ source: { file: source.file, value: own, locate: source.locate } });
  return layers;
}

/** Parses `a.b=value`; the value is read as YAML, so `3` is a number and `[16, 32]` a list. */
export function parseSet(expr: string): { path: (string | number)[]; value: unknown } {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new TfpipeError('E_USAGE', `--set ${expr}: expected path=value, e.g. --set train.epochs=3`);
  const path = parsePath(expr.slice(0, eq).trim());
  let value: unknown;
  try {
    value = parseYamlValue(expr.slice(eq + 1));
  } catch (e) {
    throw new TfpipeError('E_USAGE', `--set ${expr}: cannot read the value: ${(e as Error).message}`);
  }
  return { path, value: value === null && expr.slice(eq + 1).trim() === '' ? '' : value };
}

/**
 * Loads a pipeline config: YAML (data only) → `extends:` presets merged → `--set` overrides →
 * schema validation → cross-field checks. Every problem is reported at once, each with its
 * path, the value received, what is allowed and file:line:column.
 */
export async function loadConfig<S extends z.ZodType>(file: string, options: LoadOptions<S>): Promise<LoadedConfig<z.output<S>>> {
  const abs = resolve(file);
  const layers = await readLayers(abs, file, options.presetDirs ?? [], []);
  let raw: unknown = {};
  for (const l of layers) raw = deepMerge(raw, l.source.value);

  const sets: { expr: string; path: (string | number)[] }[] = [];
  for (const expr of options.set ?? []) {
    const { path, value } = parseSet(expr);
    raw = setPath(raw, path, value);
    sets.push({ expr, path });
  }

  const locate: LoadedConfig<unknown>['locate'] = (path, opts) => {
    for (let i = sets.length - 1; i >= 0; i--) {
      const s = sets[i]!;
      const n = Math.min(s.path.length, path.length);
      if (s.path.slice(0, n).every((p, j) => String(p) === String(path[j]))) return { file: `--set ${s.expr}`, line: 0, column: 0 };
    }
    for (let i = layers.length - 1; i >= 0; i--) {
      const src = layers[i]!.source;
      if (hasPath(src.value, opts?.key ? path.slice(0, -1) : path) || i === 0) {
        // The deepest existing prefix in the layer that defines this value.
        let p = [...path];
        while (p.length > 0 && !hasPath(src.value, p)) p = p.slice(0, -1);
        if (p.length > 0 || i === layers.length - 1) return src.locate(p.length === path.length ? path : p, opts);
      }
    }
    return layers[layers.length - 1]!.source.locate(path, opts);
  };

  const withLocation = (issues: Issue[]): Issue[] =>
    issues.map((iss) => {
      if (iss.location) return iss;
      // An unknown key is shown at the key itself; anything else at its value.
      const loc = locate(iss.path, { key: iss.code === 'unknown_key' });
      return loc ? { ...iss, location: loc } : iss;
    });

  let schema: z.ZodType = options.schema;
  if (options.prepare) {
    try {
      schema = (await options.prepare(raw as Record<string, unknown>, { baseDir: dirname(abs), locate })) ?? schema;
    } catch (e) {
      if (e instanceof TfpipeError && e.issues.length) {
        const located = TfpipeError.fromIssues(withLocation(e.issues), e.code);
        throw new TfpipeError(e.code, located.message, { issues: located.issues, path: located.path, cause: e.cause ?? e });
      }
      throw e;
    }
  }
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw TfpipeError.fromIssues(withLocation(zodIssues(parsed.error, schema, [], raw)));
  }
  const config = parsed.data as z.output<S>;
  const crossIssues = options.checks?.(config, raw) ?? [];
  if (crossIssues.length) throw TfpipeError.fromIssues(withLocation(crossIssues));

  return {
    config,
    raw: raw as Record<string, unknown>,
    path: abs,
    baseDir: dirname(abs),
    files: layers.map((l) => l.source.file),
    locate,
  };
}

export { getPath, formatValue };

import { didYouMean, resolveDataPath, TfpipeError } from '@tfpipe/core';
import type { Registry, RegistryEntry } from '@tfpipe/core';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { Dataset } from './dataset.js';
import { RowErrors } from './problems.js';
import { fetchToCache, isRemotePath } from './remote.js';
import type { ColumnInfo, DataSource, Row, SourceContext } from './types.js';

/** A source type: its schema (the YAML `data.source` block) and how to open it. */
export interface SourceEntry<C = unknown> extends RegistryEntry {
  schema: z.ZodType<C>;
  open(config: C, ctx: SourceContext): Promise<DataSource>;
}

export type SourceRegistry = Registry<SourceEntry>;

/**
 * `resolveDataPath`, plus a fallback for `npm:` packages whose `exports` hide package.json (vega-datasets):
 * core's lookup resolves `<pkg>/package.json`, which such packages refuse; then look in node_modules folders.
 */
function resolvePath(p: string, baseDir: string): string {
  try {
    return resolveDataPath(p, baseDir);
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    if (!p.startsWith('npm:') || cause?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
    const rest = p.slice(4);
    const n = rest.startsWith('@') ? 2 : 1;
    const name = rest.split('/').slice(0, n).join('/');
    const file = rest.split('/').slice(n).join('/');
    for (let dir = resolve(baseDir); ; dir = dirname(dir)) {
      const pkg = join(dir, 'node_modules', name);
      if (existsSync(join(pkg, 'package.json'))) return join(pkg, file);
      if (dirname(dir) === dir) throw e;
    }
  }
}

/** Resolves a config path and checks the file or folder exists (E_IO naming the config path otherwise). */
export async function resolveExisting(p: string, ctx: SourceContext, key: string, kind: 'file' | 'dir' = 'file'): Promise<string> {
  if (isRemotePath(p)) {
    const where = [...ctx.path, key].join('.');
    if (kind === 'dir') {
      throw new TfpipeError('E_CONFIG', `${where}: received "${p}"; a folder cannot be a URL (only files can: csv, tsv, jsonl, json, idx)`, {
        path: [...ctx.path, key],
      });
    }
    return fetchToCache(p, where, { logger: ctx.logger });
  }
  const full = resolvePath(p, ctx.baseDir);
  let ok = false;
  try {
    const s = await stat(full);
    ok = kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new TfpipeError('E_IO', `${[...ctx.path, key].join('.')}: ${kind === 'file' ? 'file' : 'folder'} ${full} does not exist (from ${JSON.stringify(p)})`, {
      path: [...ctx.path, key],
      issues: [{ path: [...ctx.path, key], message: `no such ${kind === 'file' ? 'file' : 'folder'}`, received: p }],
    });
  }
  return full;
}

/** Checks `select` names against the columns, with did-you-mean; returns the selected names in order. */
export function checkSelect(select: string[] | undefined, names: readonly string[], ctx: SourceContext, key = 'select'): string[] {
  if (!select) return [...names];
  const issues = select
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !names.includes(s))
    .map(({ s, i }) => {
      const suggestion = didYouMean(s, names);
      return { path: [...ctx.path, key, i], message: 'no such column', received: s, expected: names.map((n) => JSON.stringify(n)).join(' | '), ...(suggestion ? { suggestion } : {}) };
    });
  if (issues.length > 0) throw TfpipeError.fromIssues(issues);
  return select;
}

/** Wraps a row generator as a DataSource, applying `limit`. */
export function makeSource(opts: {
  columns: ColumnInfo[];
  size?: number | undefined;
  errors: RowErrors;
  limit?: number | undefined;
  rows: () => AsyncIterable<Row> | Iterable<Row>;
}): DataSource {
  const { limit, errors } = opts;
  const size = opts.size === undefined ? undefined : limit === undefined ? opts.size : Math.min(limit, opts.size);
  // A fractional maxSkipped is checked at the end of each complete pass, against the rows it read.
  async function* counted(): AsyncGenerator<Row> {
    let n = 0;
    for await (const row of opts.rows()) {
      n++;
      yield row;
    }
    errors.endPass(n);
  }
  let ds = errors.checksPasses ? Dataset.from(counted, { size }) : Dataset.from(opts.rows, { size });
  if (limit !== undefined) ds = ds.take(limit);
  return {
    columns: opts.columns,
    ...(size !== undefined ? { size } : {}),
    rows: () => ds,
    skipped: () => opts.errors.skipped(),
    problems: () => opts.errors.problems(),
    skipSummary: () => opts.errors.summary(),
  };
}

export function rowErrors(c: { onError: 'fail' | 'skip'; maxSkipped?: number | undefined }, ctx: SourceContext): RowErrors {
  return new RowErrors(c.onError, ctx.path, { maxSkipped: c.maxSkipped });
}

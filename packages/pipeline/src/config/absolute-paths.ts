import { resolve } from 'node:path';
import { resolveDataPath } from '@tfpipe/core';
import { isPlainObject } from './paths.js';

/** Fields of data sources that hold file or folder paths. */
const PATH_FIELDS = ['path', 'images', 'labels', 'dir'] as const;

/**
 * A copy of a raw config whose data paths (in any `{ type, path | images | labels | dir }` source,
 * `finetune.base`, and `plugins:`) are absolute, `npm:` paths included. A config moved to another folder, a child process or
 * another machine with the same files then reads the same data.
 */
export function absolutizeDataPaths<T>(raw: T, baseDir: string, options: { keepUnresolvedNpm?: boolean } = {}): T {
  const abs = (p: string): string => {
    if (/^https?:\/\//i.test(p)) return p; // a URL is the same everywhere (the data package downloads it)
    if (!p.startsWith('npm:') || !options.keepUnresolvedNpm) return resolveDataPath(p, baseDir);
    try {
      return resolveDataPath(p, baseDir);
    } catch {
      return p; // not installed where the preset lives: looked up later from the config that extends it
    }
  };
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (!isPlainObject(v)) return v;
    const out: Record<string, unknown> = {};
    const isSource = typeof v.type === 'string';
    for (const [k, x] of Object.entries(v)) {
      if (isSource && (PATH_FIELDS as readonly string[]).includes(k) && typeof x === 'string') out[k] = abs(x);
      else if (key === 'finetune' && k === 'base' && typeof x === 'string') out[k] = abs(x);
      else out[k] = walk(x, k);
    }
    return out;
  };
  const out = walk(raw);
  // `plugins:` are modules relative to the file that names them.
  if (isPlainObject(out) && Array.isArray(out.plugins)) out.plugins = out.plugins.map((p) => (typeof p === 'string' ? resolve(baseDir, p) : p));
  return out as T;
}

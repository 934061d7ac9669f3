import { TfpipeError, didYouMean, formatPath, type Issue } from '@tfpipe/core';

/** A config path as written in a sweep (`model.layers[0].filters`) or already split. */
export type ConfigPath = string | readonly (string | number)[];

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** `model.layers[0].filters` → ['model', 'layers', 0, 'filters']. */
export function parsePath(path: ConfigPath): (string | number)[] {
  if (typeof path !== 'string') return [...path];
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = 0;
  for (const m of path.matchAll(re)) {
    out.push(m[1] !== undefined ? m[1] : Number(m[2]));
    consumed += m[0].length;
  }
  const dots = (path.match(/\./g) ?? []).length;
  if (out.length === 0 || consumed + dots !== path.length || /(^|\.)\.|\.$|^\./.test(path)) {
    throw new TfpipeError(
      'E_CONFIG',
      `cannot read the config path "${path}"; expected dotted keys with [index] for lists, e.g. model.layers[0].filters`,
    );
  }
  for (const p of out) {
    if (typeof p === 'string' && FORBIDDEN.has(p)) {
      throw new TfpipeError('E_CONFIG', `the key "${p}" is not allowed in a config path ("${path}")`);
    }
  }
  return out;
}

/** The value at `path`, or undefined. */
export function getPath(obj: unknown, path: ConfigPath): unknown {
  let v = obj;
  for (const p of parsePath(path)) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

/**
 * Returns a copy of `obj` with `value` at `path`; `obj` is not changed. Objects and lists on the way are
 * copied (structural sharing elsewhere); missing levels are created as objects, or lists for an index.
 */
export function setPath<T>(obj: T, path: ConfigPath, value: unknown): T {
  return setParts(obj, parsePath(path), value) as T;
}

function setParts(obj: unknown, parts: readonly (string | number)[], value: unknown): unknown {
  if (parts.length === 0) return value;
  const [head, ...rest] = parts as [string | number, ...(string | number)[]];
  const base: Record<string | number, unknown> = Array.isArray(obj)
    ? ([...obj] as unknown as Record<number, unknown>)
    : obj && typeof obj === 'object'
      ? { ...(obj as Record<string, unknown>) }
      : typeof head === 'number'
        ? ([] as unknown as Record<number, unknown>)
        : {};
  base[head] = setParts(base[head], rest, value);
  return base;
}

/**
 * Checks that `path` names something that exists in `obj`. Returns an Issue (path `issuePath`) naming the
 * first missing segment, the keys known at that level and the nearest one, or undefined when it exists.
 */
export function checkPathExists(obj: unknown, path: ConfigPath, issuePath: (string | number)[]): Issue | undefined {
  let parts: (string | number)[];
  try {
    parts = parsePath(path);
  } catch (e) {
    return { path: issuePath, message: (e as Error).message, received: path };
  }
  let v: unknown = obj;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    const here = formatPath(parts.slice(0, i));
    if (Array.isArray(v)) {
      if (typeof seg !== 'number') {
        return {
          path: issuePath,
          message: `"${here}" is a list; index it with [n], not ".${seg}"`,
          received: seg,
          expected: `an index 0..${v.length - 1}`,
        };
      }
      if (seg >= v.length) {
        return {
          path: issuePath,
          message: `"${here}" has ${v.length} item(s); index ${seg} does not exist`,
          received: seg,
          expected: v.length === 0 ? 'no index (the list is empty)' : `an index 0..${v.length - 1}`,
        };
      }
      v = v[seg];
      continue;
    }
    if (v === null || typeof v !== 'object') {
      return {
        path: issuePath,
        message: `"${here}" is a ${v === null ? 'null' : typeof v} value, so it has no "${seg}"`,
        received: String(seg),
      };
    }
    const keys = Object.keys(v);
    if (typeof seg === 'number' || !Object.hasOwn(v, seg)) {
      const suggestion = typeof seg === 'string' ? didYouMean(seg, keys) : undefined;
      const where = i === 0 ? 'the config' : `"${here}"`;
      return {
        path: issuePath,
        message: `${where} has no ${typeof seg === 'number' ? `[${seg}]` : `key "${seg}"`}`,
        received: typeof seg === 'number' ? seg : seg,
        expected: keys.length ? `one of ${keys.map((k) => `"${k}"`).join(', ')}` : 'no keys (the object is empty)',
        ...(suggestion ? { suggestion: formatPath([...parts.slice(0, i), suggestion]) } : {}),
      };
    }
    v = (v as Record<string, unknown>)[seg];
  }
  return undefined;
}

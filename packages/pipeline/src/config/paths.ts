import { TfpipeError } from '@tfpipe/core';

/** `model.layers[0].filters` → ['model', 'layers', 0, 'filters']. */
export function parsePath(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else out.push(Number(m[2]));
    consumed += m[0].length;
  }
  const dots = (text.match(/\./g) ?? []).length;
  if (out.length === 0 || consumed + dots !== text.length) {
    throw new TfpipeError('E_USAGE', `cannot read the config path "${text}"; expected dotted keys with [index] for lists, e.g. model.layers[0].filters`);
  }
  return out;
}

export function getPath(obj: unknown, path: readonly (string | number)[]): unknown {
  let v = obj;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

export function hasPath(obj: unknown, path: readonly (string | number)[]): boolean {
  let v = obj;
  for (const p of path) {
    if (!v || typeof v !== 'object' || !Object.hasOwn(v, p)) return false;
    v = (v as Record<string | number, unknown>)[p];
  }
  return true;
}

/** Returns a copy of `obj` with `value` at `path`, creating mappings (or lists for numeric keys) on the way. */
export function setPath<T>(obj: T, path: readonly (string | number)[], value: unknown): T {
  if (path.length === 0) return value as T;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (typeof head === 'string' && (head === '__proto__' || head === 'constructor' || head === 'prototype')) {
    throw new TfpipeError('E_USAGE', `the key "${head}" is not allowed in a config path`);
  }
  const base: Record<string | number, unknown> | unknown[] = Array.isArray(obj)
    ? [...obj]
    : obj && typeof obj === 'object'
      ? { ...(obj as object) }
      : typeof head === 'number'
        ? []
        : {};
  const child = (base as Record<string | number, unknown>)[head];
  (base as Record<string | number, unknown>)[head] = setPath(child, rest, value);
  return base as T;
}

/**
 * Deep merge for `extends:`: mappings merge key by key, anything else (lists included) is replaced; `null`
 * removes what the base has at that key. A `null` with nothing beneath it to remove stays, so that a section
 * left empty (`train:` with no keys) is reported at its own line instead of silently dropped.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const inherited = Object.hasOwn(out, k) && out[k] !== null;
      // `key: null` in a file that extends a preset removes the preset's key.
      if (v === null) {
        if (inherited) delete out[k];
        else out[k] = null;
      } else out[k] = inherited ? deepMerge(out[k], v) : v;
    }
    return out;
  }
  return over === undefined ? base : over;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

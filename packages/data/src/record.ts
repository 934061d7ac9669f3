import { dirname } from 'node:path';
import type { ColumnType } from './columns.js';
import { parseBoolean, parseNumber } from './columns.js';
import { loadImage } from './image.js';
import type { ImageSpec } from './image.js';
import type { RowErrors } from './problems.js';
import type { Row, Value } from './types.js';

/** A value that does not fit its column: what was received and what the column allows. */
export class BadValue {
  constructor(
    readonly received: unknown,
    readonly expected: string,
  ) {}
}

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

function expectedOf(type: ColumnType): string {
  if (typeof type === 'string') return type === 'number' ? 'a number' : type === 'boolean' ? 'true | false' : 'a string';
  if (type.type === 'vector') return `${type.shape[0]} numbers`;
  return 'an image file path';
}

function parseVectorText(s: string, type: { shape: [number]; separator: string }): Float32Array | BadValue {
  const parts = s.trim().split(type.separator === ' ' ? /\s+/ : type.separator);
  if (parts.length !== type.shape[0]) return new BadValue(s, `${type.shape[0]} numbers separated by ${JSON.stringify(type.separator)}`);
  const out = new Float32Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const v = parseNumber(parts[i]!);
    if (v === undefined) return new BadValue(s, `${type.shape[0]} numbers separated by ${JSON.stringify(type.separator)}`);
    out[i] = v;
  }
  return out;
}

/** Converts one text field (CSV/TSV) to its column's type; image columns stay paths until `loadImages`. */
export function convertText(type: ColumnType, s: string, missing: ReadonlySet<string>): Value | BadValue {
  if (missing.has(s)) return null;
  if (type === 'number') return parseNumber(s) ?? new BadValue(s, 'a number');
  if (type === 'string') return s;
  if (type === 'boolean') return parseBoolean(s) ?? new BadValue(s, 'true | false');
  if (type.type === 'vector') return parseVectorText(s, type);
  return s;
}

/** Converts one JSON value to its column's type. JSON types are kept: "3" is not a number. */
export function convertJson(type: ColumnType, v: unknown, missing: ReadonlySet<string>): Value | BadValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' && missing.has(v)) return null;
  if (typeof type === 'string') {
    if (type === 'number') return typeof v === 'number' ? v : new BadValue(v, expectedOf(type));
    if (type === 'boolean') return typeof v === 'boolean' ? v : new BadValue(v, expectedOf(type));
    return typeof v === 'string' ? v : new BadValue(v, expectedOf(type));
  }
  if (type.type === 'vector') {
    if (typeof v === 'string') return parseVectorText(v, type);
    if (!Array.isArray(v) || v.length !== type.shape[0] || !v.every((x) => typeof x === 'number')) {
      return new BadValue(v, `an array of ${type.shape[0]} numbers`);
    }
    return Float32Array.from(v as number[]);
  }
  return typeof v === 'string' ? v : new BadValue(v, expectedOf(type));
}

/** Columns of `image` type in `specs`. */
export function imageColumns(specs: readonly ColumnSpec[]): { name: string; type: ImageSpec }[] {
  const out: { name: string; type: ImageSpec }[] = [];
  for (const s of specs) if (typeof s.type === 'object' && s.type.type === 'image') out.push({ name: s.name, type: s.type });
  return out;
}

/**
 * Replaces image paths in a row by decoded pixels (paths relative to the data file's folder).
 * Returns false when an image could not be read and the row was skipped.
 */
export async function loadRowImages(
  row: Row,
  specs: ReturnType<typeof imageColumns>,
  dataFile: string,
  errors: RowErrors,
  loc: { line?: number; record?: number },
): Promise<boolean> {
  for (const spec of specs) {
    const p = row[spec.name];
    if (p === null || p === undefined) continue;
    const img = await loadImage(String(p), spec.type, dirname(dataFile));
    if (typeof img === 'string') {
      errors.report({ file: dataFile, ...loc, column: spec.name, message: img, received: p });
      return false;
    }
    row[spec.name] = img;
  }
  return true;
}

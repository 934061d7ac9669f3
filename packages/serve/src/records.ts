import sharp from 'sharp';
import { didYouMean, TfpipeError, type Issue } from '@tfpipe/core';
import type { Row, Value } from '@tfpipe/data';
import type { Limiter } from './limiter.js';
import type { RawColumn } from './request-schema.js';

export type ImageFit = 'fill' | 'cover' | 'contain';

/** A 400: the request is wrong. `issues` name each field. */
export function badRequest(issues: Issue[], message?: string): TfpipeError {
  const text = message ?? issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`).join('; ');
  return new TfpipeError('E_DATA', text, { issues, path: issues[0]?.path ?? [] });
}

/** `instances[2].petal_length` from ['instances', 2, 'petal_length']. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? 'body' : out;
}

const DATA_URL = /^data:[^;,]*;base64,/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

/**
 * The most pixels a posted image may have, from the model's input shape: 256 times the input's area,
 * at least 4 megapixels (a phone photo of a digit still decodes) and at most 50 (sharp's own default is 268).
 */
export function imagePixelLimit(shape: readonly number[]): number {
  const [h = 1, w = 1] = shape;
  return Math.min(Math.max(h * w * 256, 4_000_000), 50_000_000);
}

/**
 * Decodes an encoded image (PNG, JPEG, ...) into Float32Array HWC 0..255 at the column's shape, the way
 * @tfpipe/data's image sources do (sharp resize with `fit`, alpha dropped, grayscale or sRGB). An image of
 * more than `maxPixels` pixels is refused from its header, before it is decoded.
 */
export async function decodeImage(bytes: Uint8Array, shape: readonly number[], fit: ImageFit, maxPixels = imagePixelLimit(shape)): Promise<Float32Array> {
  const [h, w, c] = shape as [number, number, number];
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, sequentialRead: true }).resize(w, h, { fit, background: { r: 0, g: 0, b: 0 } }).removeAlpha();
  img = c === 1 ? img.grayscale() : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== c || info.width !== w || info.height !== h) {
    throw new Error(`decoded to ${info.height}x${info.width}x${info.channels}, expected ${h}x${w}x${c}`);
  }
  return Float32Array.from(data);
}

/** How `toRows` decodes images: resize mode, pixel limit, a shared limit on decodes at once, the request's deadline. */
export interface DecodeOptions {
  fit: ImageFit;
  /** Most pixels of one posted image (default: imagePixelLimit of the column's shape). */
  maxPixels?: number | undefined;
  /** Bounds how many images decode at once, across requests. */
  limiter?: Limiter | undefined;
  /** Aborts decodes not started yet (the request timed out). */
  signal?: AbortSignal | undefined;
}

async function imageValue(v: unknown, col: RawColumn, opts: DecodeOptions, path: (string | number)[]): Promise<Float32Array> {
  if (Array.isArray(v)) return Float32Array.from(v as number[]);
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) bytes = v;
  else {
    const text = String(v).replace(DATA_URL, '');
    if (!BASE64.test(text)) {
      throw badRequest([{ path, message: 'not base64 text (expected an encoded image file as base64, or a pixel array)', received: String(v).slice(0, 40) }]);
    }
    bytes = Buffer.from(text, 'base64');
  }
  const maxPixels = opts.maxPixels ?? imagePixelLimit(col.shape!);
  const decode = () => decodeImage(bytes, col.shape!, opts.fit, maxPixels);
  try {
    return await (opts.limiter ? opts.limiter.run(decode, opts.signal) : decode());
  } catch (e) {
    if (opts.signal?.aborted && e === opts.signal.reason) throw e;
    const message = (e as Error).message;
    if (/pixel limit/i.test(message)) {
      throw badRequest([{ path, message: 'image too large', expected: `at most ${maxPixels} pixels (the limit for a ${col.shape!.slice(0, 2).join('x')} model input)` }]);
    }
    throw badRequest([{ path, message: `invalid image: ${message}`, expected: 'a PNG, JPEG, WebP, GIF or TIFF file' }]);
  }
}

/** Validated JSON records (or form fields) → rows for LoadedRun.predict: images decoded, vectors typed. */
export async function toRows(records: Record<string, unknown>[], columns: readonly RawColumn[], decode: ImageFit | DecodeOptions, base: (string | number)[]): Promise<Row[]> {
  const opts: DecodeOptions = typeof decode === 'string' ? { fit: decode } : decode;
  return Promise.all(
    records.map(async (rec, i) => {
      const row: Row = {};
      for (const c of columns) {
        const v = rec[c.name];
        const path = [...base, ...(base.length ? [i] : []), c.name];
        if (c.kind === 'image') row[c.name] = await imageValue(v, c, opts, path);
        else if (c.kind === 'vector') row[c.name] = Float32Array.from(v as number[]);
        else row[c.name] = (v ?? null) as Value;
      }
      return row;
    }),
  );
}

/**
 * Multipart form fields → one raw record. Text fields are parsed by the column's kind (numbers, booleans);
 * a file part is an image column's encoded bytes.
 */
export async function formToRecord(form: FormData, columns: readonly RawColumn[], labels: readonly string[]): Promise<Record<string, unknown>> {
  const issues: Issue[] = [];
  const rec: Record<string, unknown> = {};
  const known = new Set([...columns.map((c) => c.name), ...labels]);
  for (const key of new Set(form.keys())) {
    if (!known.has(key)) {
      const suggestion = didYouMean(key, known);
      issues.push({ code: 'unknown_key', path: [key], message: 'unknown key', expected: `one of ${[...known].join(', ')}`, ...(suggestion ? { suggestion } : {}) });
    }
  }
  for (const c of columns) {
    const v = form.get(c.name);
    if (v === null) {
      issues.push({ code: 'required', path: [c.name], message: 'required', expected: `a ${c.kind} value` });
      continue;
    }
    if (typeof v !== 'string') {
      if (c.kind !== 'image') issues.push({ path: [c.name], message: `a file was sent for a ${c.kind} column` });
      else rec[c.name] = new Uint8Array(await v.arrayBuffer());
      continue;
    }
    if (c.kind === 'number') {
      const n = v.trim() === '' ? Number.NaN : Number(v);
      if (!Number.isFinite(n)) issues.push({ path: [c.name], message: 'not a finite number', received: v });
      rec[c.name] = n;
    } else if (c.kind === 'boolean') {
      if (v !== 'true' && v !== 'false') issues.push({ path: [c.name], message: 'not a boolean', received: v, expected: 'true | false' });
      rec[c.name] = v === 'true';
    } else if (c.kind === 'vector') {
      try {
        rec[c.name] = JSON.parse(v);
      } catch {
        issues.push({ path: [c.name], message: 'not a JSON array of numbers', received: v });
      }
    } else rec[c.name] = v;
  }
  if (issues.length) throw badRequest(issues);
  return rec;
}

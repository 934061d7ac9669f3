import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import type { ColumnType } from '../columns.js';
import { columnInfo, recordSourceShape } from '../columns.js';
import { setRowOrigin } from '../origin.js';
import { type PassProgress, passCounter } from '../progress.js';
import type { RowErrors } from '../problems.js';
import { BadValue, convertJson, imageColumns, loadRowImages } from '../record.js';
import type { ColumnSpec } from '../record.js';
import { checkSelect, makeSource, resolveExisting, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { DataSource, Row, SourceContext } from '../types.js';
import { resolveColumns } from './csv.js';

const columnNamesShape = {
  columnNames: z
    .array(z.string().min(1))
    .optional()
    .describe('Names for records written as arrays ([5.1, 3.5, "setosa"]); default c0, c1, ...'),
};

export const jsonlSourceSchema = z
  .object({ type: z.literal('jsonl'), ...recordSourceShape, ...columnNamesShape })
  .strict()
  .describe('JSON lines: one record (object or array) per line, streamed');

export const jsonSourceSchema = z
  .object({
    type: z.literal('json'),
    ...recordSourceShape,
    ...columnNamesShape,
    key: z.string().min(1).optional().describe('The records array sits under this top-level key (the file is the array when absent)'),
  })
  .strict()
  .describe('A JSON array of records (objects or arrays), read whole');

type JsonlConfig = z.output<typeof jsonlSourceSchema>;
type JsonConfig = z.output<typeof jsonSourceSchema>;

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? `vector:${v.length}` : 'array';
  return v === null ? 'null' : typeof v;
}

/** A column's type from sample values: JSON types are kept, mixed ones must be declared. */
function inferJson(name: string, values: unknown[], file: string, ctx: SourceContext): ColumnType {
  const kinds = new Set(values.filter((v) => v !== null && v !== undefined).map(kindOf));
  const only = kinds.size === 1 ? [...kinds][0]! : undefined;
  if (only === 'number' || only === 'string' || only === 'boolean') return only;
  if (only?.startsWith('vector:')) return { type: 'vector', shape: [Number(only.slice(7))], separator: ' ' };
  throw new TfpipeError('E_DATA', `${file}: column "${name}" holds ${kinds.size === 0 ? 'only nulls' : [...kinds].join(' and ')} in the first records; declare its type`, {
    path: [...ctx.path, 'types', name],
    hint: `Add types: { ${name}: number | string | boolean | { type: vector, shape: [n] } } to the source.`,
  });
}

function recordNames(samples: unknown[], c: { columnNames?: string[] | undefined }): string[] {
  if (samples.length > 0 && Array.isArray(samples[0])) {
    const width = Math.max(...samples.map((s) => (Array.isArray(s) ? s.length : 0)));
    return c.columnNames ?? Array.from({ length: width }, (_, i) => `c${i}`);
  }
  const names: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) continue;
    for (const k of Object.keys(s)) {
      if (seen.has(k)) continue;
      names.push(k);
      seen.add(k);
    }
  }
  return names;
}

interface Prepared {
  specs: ColumnSpec[];
  names: string[];
  sel: ColumnSpec[];
}

function prepare(samples: unknown[], file: string, c: JsonlConfig | JsonConfig, ctx: SourceContext): Prepared {
  const names = recordNames(samples, c);
  for (const k of Object.keys(c.types)) if (!names.includes(k) && !Array.isArray(samples[0])) names.push(k);
  const at = (s: unknown, name: string, i: number): unknown => (Array.isArray(s) ? s[i] : (s as Record<string, unknown> | null)?.[name]);
  const specs = resolveColumns(names, c.types, ctx, (name, i) => inferJson(name, samples.map((s) => at(s, name, i)), file, ctx));
  const selected = checkSelect(c.select, names, ctx);
  return { specs, names, sel: selected.map((n) => specs[names.indexOf(n)]!) };
}

/** Converts one parsed record, or reports it and returns undefined. */
async function toRow(rec: unknown, p: Prepared, file: string, loc: { line: number } | { record: number }, missing: ReadonlySet<string>, errors: RowErrors): Promise<Row | undefined> {
  const isArr = Array.isArray(rec);
  if (rec === null || typeof rec !== 'object') {
    errors.report({ file, ...loc, message: `expected a JSON object or array, found ${JSON.stringify(rec)}` });
    return undefined;
  }
  if (isArr && rec.length !== p.names.length) {
    errors.report({ file, ...loc, message: `expected ${p.names.length} fields, found ${rec.length}`, received: rec.length, expected: `${p.names.length} fields` });
    return undefined;
  }
  const row: Row = {};
  for (const spec of p.sel) {
    const raw = isArr ? (rec as unknown[])[p.names.indexOf(spec.name)] : (rec as Record<string, unknown>)[spec.name];
    const v = convertJson(spec.type, raw, missing);
    if (v instanceof BadValue) {
      errors.report({ file, ...loc, column: spec.name, message: `cannot read ${JSON.stringify(v.received)} as ${v.expected}`, received: v.received, expected: v.expected });
      return undefined;
    }
    row[spec.name] = v;
  }
  const images = imageColumns(p.sel);
  if (images.length > 0 && !(await loadRowImages(row, images, file, errors, loc))) return undefined;
  return row;
}

async function* jsonLines(file: string, progress?: PassProgress): AsyncGenerator<{ line: number; value: unknown } | { line: number; error: string }> {
  const input = createReadStream(file);
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if ((line & 1023) === 0) progress?.tick(line, input.bytesRead);
      if (text.trim() === '') continue;
      try {
        yield { line, value: JSON.parse(text) };
      } catch (e) {
        yield { line, error: `invalid JSON: ${(e as Error).message}` };
      }
    }
    progress?.end(line, input.bytesRead);
  } finally {
    rl.close();
    input.destroy();
  }
}

async function openJsonl(c: JsonlConfig, ctx: SourceContext): Promise<DataSource> {
  const file = await resolveExisting(c.path, ctx, 'path');
  const samples: unknown[] = [];
  for await (const r of jsonLines(file)) {
    if ('value' in r) samples.push(r.value);
    if (samples.length >= c.inferRows) break;
  }
  const p = prepare(samples, file, c, ctx);
  const missing = new Set(c.missing);
  const errors = rowErrors(c, ctx);
  const passes = passCounter(file, (await stat(file)).size, ctx.onProgress);
  return makeSource({
    columns: p.sel.map((s) => columnInfo(s.name, s.type)),
    errors,
    limit: c.limit,
    rows: async function* () {
      for await (const r of jsonLines(file, passes.start())) {
        if ('error' in r) {
          errors.report({ file, line: r.line, message: r.error });
          continue;
        }
        const row = await toRow(r.value, p, file, { line: r.line }, missing, errors);
        if (row) yield Object.values(row).includes(null) ? setRowOrigin(row, file, r.line) : row;
      }
    },
  });
}

async function openJson(c: JsonConfig, ctx: SourceContext): Promise<DataSource> {
  const file = await resolveExisting(c.path, ctx, 'path');
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new TfpipeError('E_DATA', `${file}: invalid JSON: ${(e as Error).message}`, { path: [...ctx.path, 'path'], cause: e });
  }
  if (c.key !== undefined) data = (data as Record<string, unknown> | null)?.[c.key];
  if (!Array.isArray(data)) {
    throw new TfpipeError('E_DATA', `${file}${c.key ? ` key "${c.key}"` : ''}: expected an array of records, found ${data === null ? 'null' : typeof data}`, {
      path: [...ctx.path, c.key ? 'key' : 'path'],
    });
  }
  const records = data;
  const p = prepare(records.slice(0, c.inferRows), file, c, ctx);
  const missing = new Set(c.missing);
  const errors = rowErrors(c, ctx);
  return makeSource({
    columns: p.sel.map((s) => columnInfo(s.name, s.type)),
    // Bad records are only found when reading, so the size is known only under onError: fail.
    size: c.onError === 'fail' ? records.length : undefined,
    errors,
    limit: c.limit,
    rows: async function* () {
      for (let i = 0; i < records.length; i++) {
        const row = await toRow(records[i], p, file, { record: i + 1 }, missing, errors);
        if (row) yield row;
      }
    },
  });
}

export const jsonlSource: SourceEntry<JsonlConfig> = { type: 'jsonl', schema: jsonlSourceSchema, description: 'JSON lines, streamed', open: openJsonl };
export const jsonSource: SourceEntry<JsonConfig> = { type: 'json', schema: jsonSourceSchema, description: 'JSON array of records', open: openJson };

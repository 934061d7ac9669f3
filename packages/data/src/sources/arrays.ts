import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import type { ColumnType } from '../columns.js';
import { columnInfo, columnTypeSchema, commonSourceShape } from '../columns.js';
import { checkSelect, makeSource, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { DataSource, Row, SourceContext, Value } from '../types.js';
import { resolveColumns } from './csv.js';

export const arraysSourceSchema = z
  .object({
    type: z.literal('arrays'),
    rows: z.array(z.record(z.string(), z.any())).optional().describe('In-memory rows (TypeScript API)'),
    columns: z
      .record(z.string(), z.any())
      .optional()
      .describe('Or in-memory columns: name to an array of values (all the same length)'),
    types: z
      .record(z.string(), columnTypeSchema)
      .default({})
      .describe('Declared column types; image columns hold flat Float32Array/Uint8Array pixels of the declared shape'),
    ...commonSourceShape,
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.rows === undefined) === (c.columns === undefined)) ctx.addIssue({ code: 'custom', path: ['rows'], message: 'give exactly one of `rows` or `columns`' });
  })
  .describe('Rows or columns held in memory, for the TypeScript API');

type ArraysConfig = z.output<typeof arraysSourceSchema>;

function kindOf(v: unknown): string {
  if (v instanceof Float32Array || v instanceof Uint8Array) return `vector:${v.length}`;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? `vector:${v.length}` : 'array';
  return v === null ? 'null' : typeof v;
}

interface Mismatch {
  error: string;
}

function check(type: ColumnType, v: unknown): Value | Mismatch {
  if (v === null || v === undefined) return null;
  if (typeof type === 'string') return typeof v === type ? (v as Value) : { error: `expected a ${type}` };
  const n = type.shape.reduce((a, b) => a * b, 1);
  if (v instanceof Float32Array) return v.length === n ? v : { error: `expected ${n} values, found ${v.length}` };
  if (v instanceof Uint8Array || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
    return v.length === n ? Float32Array.from(v as ArrayLike<number>) : { error: `expected ${n} values, found ${v.length}` };
  }
  return { error: `expected ${n} numbers (Float32Array, Uint8Array or number[])` };
}

async function openArrays(c: ArraysConfig, ctx: SourceContext): Promise<DataSource> {
  let records: Record<string, unknown>[];
  if (c.columns) {
    const cols = Object.entries(c.columns);
    const lengths = cols.map(([, v]) => (v as ArrayLike<unknown>)?.length);
    if (cols.length === 0 || lengths.some((l) => typeof l !== 'number' || l !== lengths[0])) {
      throw TfpipeError.fromIssues([{ path: [...ctx.path, 'columns'], message: 'columns must be arrays of one length', received: Object.fromEntries(cols.map(([k], i) => [k, lengths[i]])), expected: 'equal lengths' }]);
    }
    records = Array.from({ length: lengths[0] as number }, (_, i) => Object.fromEntries(cols.map(([k, v]) => [k, (v as ArrayLike<unknown>)[i]])));
  } else records = c.rows!;
  const names: string[] = [];
  for (const r of records.slice(0, 1000)) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const specs = resolveColumns(names, c.types, ctx, (name) => {
    const kinds = new Set(records.slice(0, 1000).map((r) => r[name]).filter((v) => v !== null && v !== undefined).map(kindOf));
    const only = kinds.size === 1 ? [...kinds][0]! : undefined;
    if (only === 'number' || only === 'string' || only === 'boolean') return only;
    if (only?.startsWith('vector:')) return { type: 'vector', shape: [Number(only.slice(7))], separator: ' ' };
    throw new TfpipeError('E_DATA', `arrays: column "${name}" holds ${kinds.size === 0 ? 'only nulls' : [...kinds].join(' and ')}; declare its type`, { path: [...ctx.path, 'types', name] });
  });
  const selected = checkSelect(c.select, names, ctx);
  const sel = selected.map((n) => specs[names.indexOf(n)]!);
  const errors = rowErrors(c, ctx);
  return makeSource({
    columns: sel.map((s) => columnInfo(s.name, s.type)),
    size: c.onError === 'fail' ? records.length : undefined,
    errors,
    limit: c.limit,
    *rows() {
      rows: for (let i = 0; i < records.length; i++) {
        const row: Row = {};
        for (const s of sel) {
          const v = check(s.type, records[i]![s.name]);
          if (v !== null && typeof v === 'object' && 'error' in v) {
            errors.report({ file: 'arrays', record: i + 1, column: s.name, message: v.error, received: records[i]![s.name] });
            continue rows;
          }
          row[s.name] = v;
        }
        yield row;
      }
    },
  });
}

export const arraysSource: SourceEntry<ArraysConfig> = {
  type: 'arrays',
  schema: arraysSourceSchema,
  description: 'Rows or columns in memory (TypeScript API)',
  open: openArrays,
};

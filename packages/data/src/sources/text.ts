import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { commonSourceShape, DEFAULT_MISSING } from '../columns.js';
import { checkSelect, makeSource, resolveExisting, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { ColumnInfo, DataSource, Row, SourceContext } from '../types.js';
import { csvSource, tsvSource } from './csv.js';
import { listClassFolders, mapOrdered } from './folders.js';
import { jsonlSource, jsonSource } from './json.js';
import { passCounter } from '../progress.js';

export const textSourceSchema = z
  .object({
    type: z.literal('text'),
    dir: z.string().min(1).optional().describe('Folder with one sub-folder per class; each file is one example'),
    extensions: z.array(z.string().min(1)).default(['.txt']).describe('With `dir`: files read as examples'),
    path: z.string().min(1).optional().describe('Or a CSV/TSV/JSON/JSONL file holding a text column'),
    format: z.enum(['csv', 'tsv', 'json', 'jsonl']).optional().describe('With `path`: the file format (default: from the extension)'),
    textColumn: z.string().min(1).default('text').describe('With `path`: the column holding the text'),
    labelColumn: z.string().min(1).optional().describe('With `path`: the column holding the label (no label column when absent)'),
    ...commonSourceShape,
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.dir === undefined) === (c.path === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['dir'], message: 'give exactly one of `dir` (a folder per class) or `path` (a CSV/JSON file)' });
    }
  })
  .describe('Text: a folder per class of .txt files, or a column of a CSV/JSON file; rows { text, label }');

type TextConfig = z.output<typeof textSourceSchema>;

const FORMATS: Record<string, 'csv' | 'tsv' | 'json' | 'jsonl'> = { '.csv': 'csv', '.tsv': 'tsv', '.json': 'json', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

async function openTextFile(c: TextConfig & { path: string }, ctx: SourceContext): Promise<DataSource> {
  const format = c.format ?? FORMATS[extname(c.path).toLowerCase()];
  if (!format) {
    throw TfpipeError.fromIssues([{ path: [...ctx.path, 'format'], message: `cannot tell the format of ${c.path} from its extension`, expected: '"csv" | "tsv" | "json" | "jsonl"' }]);
  }
  const select = [c.textColumn, ...(c.labelColumn !== undefined ? [c.labelColumn] : [])];
  const inner = { type: format, path: c.path, select, types: { [c.textColumn]: 'string' as const }, inferRows: 1000, missing: DEFAULT_MISSING, onError: c.onError, ...(c.limit !== undefined ? { limit: c.limit } : {}) };
  const entry: SourceEntry = { csv: csvSource, tsv: tsvSource, json: jsonSource, jsonl: jsonlSource }[format];
  const src = await entry.open(entry.schema.parse(inner), ctx);
  const labelKind = src.columns.find((col) => col.name === c.labelColumn)?.kind;
  const columns: ColumnInfo[] = [{ name: 'text', kind: 'string' }, ...(labelKind ? [{ name: 'label', kind: labelKind }] : [])];
  const out = checkSelect(c.select, columns.map((col) => col.name), ctx);
  const rows = src.rows().map((r): Row => {
    const row: Row = {};
    if (out.includes('text')) row.text = r[c.textColumn] ?? null;
    if (labelKind && out.includes('label')) row.label = r[c.labelColumn!] ?? null;
    return row;
  });
  return { ...src, columns: out.map((n) => columns.find((col) => col.name === n)!), rows: () => rows };
}

async function openText(c: TextConfig, ctx: SourceContext): Promise<DataSource> {
  if (c.path !== undefined) return openTextFile({ ...c, path: c.path }, ctx);
  const dir = await resolveExisting(c.dir!, ctx, 'dir', 'dir');
  const { files } = await listClassFolders(dir, c.extensions, [...ctx.path, 'dir']);
  const selected = checkSelect(c.select, ['text', 'label'], ctx);
  const errors = rowErrors(c, ctx);
  const passes = passCounter(dir, undefined, ctx.onProgress, files.length);
  const all: ColumnInfo[] = [
    { name: 'text', kind: 'string' },
    { name: 'label', kind: 'string' },
  ];
  return makeSource({
    columns: selected.map((n) => all.find((col) => col.name === n)!),
    size: c.onError === 'fail' ? files.length : undefined,
    errors,
    limit: c.limit,
    async *rows() {
      const progress = passes.start();
      let n = 0;
      const read = async (f: { file: string; label: string }) => {
        try {
          return { f, text: await readFile(f.file, 'utf8') };
        } catch (e) {
          return { f, error: (e as Error).message };
        }
      };
      for await (const r of mapOrdered(files, 8, read)) {
        progress.tick(++n);
        if ('error' in r) {
          errors.report({ file: r.f.file, column: 'text', message: `cannot read: ${r.error}` });
          continue;
        }
        const row: Row = {};
        if (selected.includes('text')) row.text = r.text!;
        if (selected.includes('label')) row.label = r.f.label;
        yield row;
      }
      progress.end(n);
    },
  });
}

export const textSource: SourceEntry<TextConfig> = {
  type: 'text',
  schema: textSourceSchema,
  description: 'A folder per class of text files, or a text column of a CSV/JSON file',
  open: openText,
};

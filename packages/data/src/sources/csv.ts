import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { TfpipeError, didYouMean } from '@tfpipe/core';
import { parse } from 'csv-parse';
import { z } from 'zod';
import type { ColumnType } from '../columns.js';
import { columnInfo, inferTextColumn, recordSourceShape } from '../columns.js';
import { setRowOrigin } from '../origin.js';
import { type PassProgress, passCounter } from '../progress.js';
import type { RowErrors } from '../problems.js';
import { BadValue, convertText, imageColumns, loadRowImages } from '../record.js';
import type { ColumnSpec } from '../record.js';
import { checkSelect, makeSource, resolveExisting, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { DataSource, Row, SourceContext } from '../types.js';
import { fastNumericRows, unclosedQuote } from './csv-fast.js';

function csvShape(delimiter: string) {
  return {
    ...recordSourceShape,
    header: z.boolean().default(true).describe('The first record names the columns'),
    delimiter: z.string().min(1).default(delimiter).describe('Field separator'),
    quote: z.string().length(1).default('"').describe('Quote character around fields holding delimiters or line breaks'),
    columnNames: z
      .array(z.string().min(1))
      .optional()
      .describe('Column names; replace the header names, or name the columns of a file without header (default c0, c1, ...)'),
    parser: z
      .enum(['auto', 'csv-parse', 'fast'])
      .default('auto')
      .describe('auto: the byte-level fast reader when every selected column is numeric, csv-parse otherwise'),
  };
}

export const csvSourceSchema = z
  .object({ type: z.literal('csv'), ...csvShape(',') })
  .strict()
  .describe('Comma-separated values, streamed');
export const tsvSourceSchema = z
  .object({ type: z.literal('tsv'), ...csvShape('\t') })
  .strict()
  .describe('Tab-separated values, streamed');

export type CsvSourceConfig = z.output<typeof csvSourceSchema> | z.output<typeof tsvSourceSchema>;

function parser(c: CsvSourceConfig, skipErrors: boolean) {
  return parse({
    delimiter: c.delimiter,
    quote: c.quote,
    bom: true,
    info: true,
    relax_column_count: true, // counted here, to name the line
    skip_empty_lines: true,
    skip_records_with_error: skipErrors,
  });
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

async function readHead(file: string, c: CsvSourceConfig, n: number): Promise<ParsedRecord[]> {
  const p = parser(c, true);
  const out: ParsedRecord[] = [];
  createReadStream(file).pipe(p);
  for await (const r of p as AsyncIterable<ParsedRecord>) {
    out.push(r);
    if (out.length >= n) break;
  }
  p.destroy();
  return out;
}

/** Column names and types from the header, `columnNames`, `types` and the first `inferRows` records. */
export function resolveColumns(names: string[], types: Record<string, ColumnType>, ctx: SourceContext, infer: (name: string, i: number) => ColumnType): ColumnSpec[] {
  const issues = Object.keys(types)
    .filter((k) => !names.includes(k))
    .map((k) => {
      const suggestion = didYouMean(k, names);
      return { path: [...ctx.path, 'types', k], message: 'no such column', received: k, expected: names.map((n) => JSON.stringify(n)).join(' | '), ...(suggestion ? { suggestion } : {}) };
    });
  if (issues.length > 0) throw TfpipeError.fromIssues(issues);
  return names.map((name, i) => ({ name, type: types[name] ?? infer(name, i) }));
}

async function openCsv(c: CsvSourceConfig, ctx: SourceContext): Promise<DataSource> {
  const file = await resolveExisting(c.path, ctx, 'path');
  const head = await readHead(file, c, c.inferRows + (c.header ? 1 : 0));
  if (head.length === 0) throw new TfpipeError('E_DATA', `${file}: the file holds no records`, { path: [...ctx.path, 'path'] });
  const width = head[0]!.record.length;
  let names: string[];
  if (c.columnNames) {
    if (c.columnNames.length !== width) {
      throw TfpipeError.fromIssues([{ path: [...ctx.path, 'columnNames'], message: `${file} line ${head[0]!.info.lines} has ${width} fields`, received: c.columnNames, expected: `${width} names` }]);
    }
    names = c.columnNames;
  } else if (c.header) names = head[0]!.record.map((h, i) => (h.trim() === '' ? `c${i}` : h.trim()));
  else names = Array.from({ length: width }, (_, i) => `c${i}`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new TfpipeError('E_DATA', `${file}: column name ${JSON.stringify(dup)} appears twice in the header`, { path: [...ctx.path, 'path'], hint: 'Rename the columns with columnNames.' });
  const body = (c.header ? head.slice(1) : head).filter((r) => r.record.length === width).map((r) => r.record);
  const missing = new Set(c.missing);
  const specs = resolveColumns(names, c.types, ctx, (name, i) => {
    const { kind, odd } = inferTextColumn(body.map((r) => r[i]!).filter((s) => !missing.has(s)));
    if (odd.length > 0) {
      ctx.logger.warn(
        `${[...ctx.path, 'types', name].join('.')}: column "${name}" read as numbers; ${odd.length} of the first ${body.length} rows hold${odd.length === 1 ? 's' : ''} something else (${odd.slice(0, 3).map((s) => JSON.stringify(s)).join(', ')}), which will be bad rows (onError: ${c.onError}). Declare types: { ${name}: string } if the column is text.`,
      );
    }
    return kind;
  });
  const selected = checkSelect(c.select, names, ctx);
  const sel = selected.map((name) => ({ index: names.indexOf(name), spec: specs[names.indexOf(name)]! }));
  const numeric = sel.every((s) => s.spec.type === 'number');
  if (c.parser === 'fast' && (!numeric || Buffer.byteLength(c.delimiter) !== 1)) {
    const other = sel.find((s) => s.spec.type !== 'number');
    throw TfpipeError.fromIssues([
      {
        path: [...ctx.path, 'parser'],
        message: other ? `the fast reader reads numeric columns only; column "${other.spec.name}" is ${JSON.stringify(other.spec.type)}` : 'the fast reader needs a one-byte delimiter',
        received: 'fast',
        expected: '"auto" | "csv-parse" (or select only numeric columns)',
      },
    ]);
  }
  const errors = rowErrors(c, ctx);
  const passes = passCounter(file, (await stat(file)).size, ctx.onProgress);
  const useFast = c.parser !== 'csv-parse' && numeric && Buffer.byteLength(c.delimiter) === 1 && Buffer.byteLength(c.quote) === 1;
  const rows = useFast
    ? () =>
        fastNumericRows({
          file,
          delimiter: Buffer.from(c.delimiter)[0]!,
          quote: Buffer.from(c.quote)[0]!,
          skipHeader: c.header,
          nFields: width,
          select: sel.map((s) => ({ index: s.index, name: s.spec.name })),
          missing,
          errors,
          progress: passes.start(),
        })
    : () => generalRows(file, c, width, sel, missing, errors, ctx, passes.start());
  return makeSource({ columns: sel.map((s) => columnInfo(s.spec.name, s.spec.type)), errors, limit: c.limit, rows });
}

async function* generalRows(file: string, c: CsvSourceConfig, width: number, sel: { index: number; spec: ColumnSpec }[], missing: ReadonlySet<string>, errors: RowErrors, ctx: SourceContext, progress: PassProgress): AsyncGenerator<Row> {
  const p = parser(c, c.onError === 'skip');
  let lastLine = 0; // the last line of the last record read: a quote left open starts after it
  p.on('skip', (err: Error & { lines?: number; code?: string }) => {
    // An unclosed quote swallows the rest of the file: that is not one bad row, whatever onError says.
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') p.destroy(unclosedQuote(file, lastLine + 1));
    else {
      try {
        errors.report({ file, ...(err.lines !== undefined ? { line: err.lines } : {}), message: err.message });
      } catch (e) {
        p.destroy(e as Error); // maxSkipped passed: ends the for-await below with this error
      }
    }
  });
  const images = imageColumns(sel.map((s) => s.spec));
  const input = createReadStream(file);
  input.pipe(p);
  let first = c.header;
  try {
    let records = 0;
    for await (const { record, info } of p as AsyncIterable<ParsedRecord>) {
      lastLine = info.lines;
      if (first) {
        first = false;
        continue;
      }
      if ((++records & 1023) === 0) progress.tick(records, input.bytesRead);
      if (record.length !== width) {
        errors.report({ file, line: info.lines, message: `expected ${width} fields, found ${record.length}`, received: record.length, expected: `${width} fields` });
        continue;
      }
      const row: Row = {};
      let ok = true;
      let hasNull = false;
      for (const { index, spec } of sel) {
        const v = convertText(spec.type, record[index]!, missing);
        if (v instanceof BadValue) {
          errors.report({ file, line: info.lines, column: spec.name, message: `cannot read ${JSON.stringify(v.received)} as ${v.expected}`, received: v.received, expected: v.expected });
          ok = false;
          break;
        }
        if (v === null) hasNull = true;
        row[spec.name] = v;
      }
      if (!ok) continue;
      if (images.length > 0 && !(await loadRowImages(row, images, file, errors, { line: info.lines }))) continue;
      yield hasNull ? setRowOrigin(row, file, info.lines) : row;
    }
    progress.end(records, input.bytesRead);
  } catch (e) {
    if (e instanceof TfpipeError) throw e;
    const err = e as Error & { lines?: number; code?: string };
    // Under onError: fail, a parser error about one record reads like any bad row (this throws).
    if (c.onError === 'fail' && err.code?.startsWith('CSV_') && err.code !== 'CSV_QUOTE_NOT_CLOSED') {
      errors.report({ file, ...(err.lines !== undefined ? { line: err.lines } : {}), message: err.message });
    }
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') throw unclosedQuote(file, lastLine + 1);
    // Not about one record (a read error, a parser state it cannot skip past): the rest of the file is
    // unread, so this fails whatever onError says, instead of ending the data early as one skipped row.
    const where = `${file}${err.lines !== undefined ? ` line ${err.lines}` : ''}`;
    throw new TfpipeError('E_DATA', `${where}: reading stopped: ${err.message}`, {
      path: ctx.path,
      issues: [{ path: ctx.path, message: `${where}: reading stopped`, received: err.code ?? err.message }],
      hint: 'The file could not be read to its end; onError: skip only skips single bad rows.',
      cause: e,
    });
  } finally {
    input.destroy();
    p.destroy();
  }
}

export const csvSource: SourceEntry<z.output<typeof csvSourceSchema>> = {
  type: 'csv',
  schema: csvSourceSchema,
  description: 'CSV file, streamed; numeric files take a byte-level fast path',
  open: openCsv,
};

export const tsvSource: SourceEntry<z.output<typeof tsvSourceSchema>> = {
  type: 'tsv',
  schema: tsvSourceSchema,
  description: 'TSV file, streamed',
  open: openCsv,
};

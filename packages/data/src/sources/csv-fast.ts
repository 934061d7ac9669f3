import { open } from 'node:fs/promises';
import { TfpipeError } from '@tfpipe/core';
import { parseNumber } from '../columns.js';
import { setRowOrigin } from '../origin.js';
import type { RowErrors } from '../problems.js';
import type { PassProgress } from '../progress.js';
import type { Row } from '../types.js';

export interface FastCsvOptions {
  file: string;
  delimiter: number;
  quote: number;
  skipHeader: boolean;
  /** Fields every record must have. */
  nFields: number;
  /** Selected fields: index in the record and output column name; all must be numeric columns. */
  select: { index: number; name: string }[];
  missing: ReadonlySet<string>;
  errors: RowErrors;
  chunkSize?: number;
  /** Told the records and bytes read after each chunk. */
  progress?: PassProgress;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Parses a decimal number in bytes [s, e) with the same syntax as `parseNumber`, or NaN when the text is
 * not one. Up to 15 significant digits and |exponent| <= 22 it is one correctly rounded multiply or divide
 * (Clinger's fast path), so results equal `Number(text)`; other texts go through `Number`.
 */
export function parseNumberBytes(b: Uint8Array, s: number, e: number): number {
  while (s < e && b[s]! <= 32) s++;
  while (e > s && b[e - 1]! <= 32) e--;
  if (s >= e) return Number.NaN;
  let i = s;
  let neg = false;
  let c = b[i]!;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let mant = 0;
  let nd = 0;
  let frac = 0;
  while (i < e && (c = b[i]!) >= 48 && c <= 57) {
    mant = mant * 10 + (c - 48);
    nd++;
    i++;
  }
  if (i < e && b[i] === 46) {
    i++;
    while (i < e && (c = b[i]!) >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      nd++;
      frac++;
      i++;
    }
  }
  if (nd === 0) return Number.NaN;
  let ex = 0;
  if (i < e && (b[i]! | 32) === 101) {
    i++;
    let eneg = false;
    if (i < e && (b[i] === 45 || b[i] === 43)) eneg = b[i++] === 45;
    let ed = 0;
    while (i < e && (c = b[i]!) >= 48 && c <= 57) {
      ex = ex * 10 + (c - 48);
      ed++;
      i++;
    }
    if (ed === 0) return Number.NaN;
    if (eneg) ex = -ex;
  }
  if (i !== e) return Number.NaN;
  const e10 = ex - frac;
  let r: number;
  if (nd > 15 || e10 > 22 || e10 < -22) return Number(Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1'));
  if (e10 === 0) r = mant;
  else if (e10 > 0) r = mant * POW10[e10]!;
  else r = mant / POW10[-e10]!;
  return neg ? -r : r;
}

let fastEnd = -1;

/**
 * Parses a plain number starting at `s` (no spaces, quotes; <= 15 digits; small exponent) in one pass,
 * setting `fastEnd` to where it stopped; -1 when the text needs the general path.
 */
function tryFastNumber(b: Uint8Array, s: number, len: number): number {
  let i = s;
  let c = i < len ? b[i]! : 0;
  let neg = false;
  if (c === 45) {
    neg = true;
    c = ++i < len ? b[i]! : 0;
  }
  let mant = 0;
  let nd = 0;
  while (c >= 48 && c <= 57) {
    mant = mant * 10 + (c - 48);
    nd++;
    c = ++i < len ? b[i]! : 0;
  }
  let frac = 0;
  if (c === 46) {
    c = ++i < len ? b[i]! : 0;
    while (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      nd++;
      frac++;
      c = ++i < len ? b[i]! : 0;
    }
  }
  if (nd === 0 || nd > 15 || frac > 22 || (c | 32) === 101 || i >= len) {
    fastEnd = -1;
    return 0;
  }
  fastEnd = i;
  const r = frac === 0 ? mant : mant / POW10[frac]!;
  return neg ? -r : r;
}

/** A quote opened on `line` and never closed: the rest of the file would be one "row", so this always fails. */
export function unclosedQuote(file: string, line: number): TfpipeError {
  return new TfpipeError('E_DATA', `${file} line ${line}: a quoted field opened here is not closed before the end of the file; reading stopped (the rest of the file would be lost as one bad row)`, {
    issues: [{ path: ['path'], message: `line ${line}: unclosed quote`, expected: 'a closing quote' }],
    hint: 'Fix the quote on that line (or set quote: to a character the file does not use).',
  });
}

/** A function building rows of a fixed shape from values, so V8 gives every row the same hidden class. */
function rowMaker(names: readonly string[]): (v: (number | null)[]) => Row {
  const body = `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')}};`;
  return new Function('v', body) as (v: (number | null)[]) => Row;
}

/**
 * Streams a CSV whose selected columns are all numeric, tokenizing bytes directly (quotes, CRLF, BOM and
 * empty lines handled like csv-parse) and converting only the selected fields. Memory: one chunk plus a row.
 */
export async function* fastNumericRows(o: FastCsvOptions): AsyncGenerator<Row> {
  const { delimiter: D, quote: Q, nFields, missing, errors, file } = o;
  const sel = new Int32Array(nFields).fill(-1);
  o.select.forEach((s, k) => {
    sel[s.index] = k;
  });
  const make = rowMaker(o.select.map((s) => s.name));
  // Reused for every record: the row maker copies the values out.
  const vals: (number | null)[] = new Array(o.select.length).fill(null);
  // When a missing token is itself a number (say "-999"), the missing check must come first.
  const missingFirst = [...missing].some((m) => parseNumber(m) !== undefined);
  const chunk = o.chunkSize ?? 1 << 20;
  let buf = Buffer.allocUnsafe(chunk * 2);
  let len = 0;
  let eof = false;
  let line = 1;
  let headerPending = o.skipHeader;
  let first = true;
  let recordsRead = 0;
  let bytes = 0;
  const fh = await open(file, 'r');
  try {
    while (!eof) {
      if (buf.length - len < chunk) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
      if (bytesRead === 0) eof = true;
      bytes += bytesRead;
      len += bytesRead;
      let pos = 0;
      if (first && len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      if (first && (len >= 3 || eof)) first = false;
      const out: Row[] = [];
      // Parse complete records; stop at one that may continue in the next chunk.
      records: while (pos < len) {
        const c0 = buf[pos];
        if (c0 === 10) {
          line++;
          pos++;
          continue;
        }
        if (c0 === 13) {
          if (pos + 1 >= len && !eof) break;
          pos += buf[pos + 1] === 10 ? 2 : 1;
          line++;
          continue;
        }
        const recStart = pos;
        let extraLines = 0;
        let field = 0;
        let bad: { column: string; received: string } | undefined;
        let hasNull = false;
        let structural: string | undefined;
        while (true) {
          let s: number;
          let e: number;
          if (buf[pos] === Q) {
            pos++;
            s = pos;
            while (true) {
              if (pos >= len) {
                if (!eof) {
                  pos = recStart;
                  break records;
                }
                // Everything from here to the end of the file is inside the quote: not one bad row.
                throw unclosedQuote(file, line);
              }
              const c = buf[pos];
              if (c === Q) {
                if (pos + 1 < len && buf[pos + 1] === Q) pos += 2;
                else if (pos + 1 >= len && !eof) {
                  pos = recStart;
                  break records;
                } else break;
              } else {
                if (c === 10) extraLines++;
                pos++;
              }
            }
            e = pos;
            if (pos < len) pos++; // closing quote
            if (pos >= len && !eof) {
              pos = recStart;
              break records;
            }
            const c = pos < len ? buf[pos] : 10;
            if (structural === undefined && c !== D && c !== 10 && c !== 13) structural = `unexpected character after a closing quote in field ${field + 1}`;
          } else {
            s = pos;
            // One pass for the common case: a plain number followed by a delimiter or line end.
            const k = field < nFields ? sel[field]! : -1;
            if (k >= 0 && !missingFirst && bad === undefined) {
              const v = tryFastNumber(buf, pos, len);
              const c = fastEnd >= 0 ? buf[fastEnd] : 0;
              if (c === D || c === 10 || c === 13) {
                vals[k] = v;
                pos = fastEnd;
                field++;
                if (c === D) {
                  pos++;
                  continue;
                }
                break;
              }
            }
            while (pos < len) {
              const c = buf[pos];
              if (c === D || c === 10 || c === 13) break;
              pos++;
            }
            if (pos >= len && !eof) {
              pos = recStart;
              break records;
            }
            e = pos;
          }
          const k = field < nFields ? sel[field]! : -1;
          if (k >= 0 && bad === undefined) {
            let v = missingFirst ? Number.NaN : parseNumberBytes(buf, s, e);
            if (Number.isNaN(v)) {
              const text = buf.toString('utf8', s, e).replaceAll(String.fromCharCode(Q, Q), String.fromCharCode(Q));
              if (missing.has(text)) {
                vals[k] = null;
                hasNull = true;
              }
              else if (missingFirst && (v = parseNumberBytes(buf, s, e)) === v) vals[k] = v;
              else bad = { column: o.select[k]!.name, received: text };
            } else vals[k] = v;
          }
          field++;
          if (structural !== undefined) {
            // Skip to the end of the physical line so parsing can resume.
            while (pos < len && buf[pos] !== 10) pos++;
            if (pos >= len && !eof) {
              pos = recStart;
              break records;
            }
            break;
          }
          if (pos < len && buf[pos] === D) {
            pos++;
            continue;
          }
          break;
        }
        // End of record: consume the line break (a CR at the chunk end may have its LF in the next chunk).
        if (pos + 1 >= len && buf[pos] === 13 && !eof) {
          pos = recStart;
          break;
        }
        if (pos < len) {
          if (buf[pos] === 13) pos++;
          if (pos < len && buf[pos] === 10) pos++;
        }
        const recLine = line;
        line += 1 + extraLines;
        if (headerPending) {
          headerPending = false;
          continue;
        }
        recordsRead++;
        if (structural !== undefined) {
          errors.report({ file, line: recLine, message: structural });
          continue;
        }
        if (field !== nFields) {
          errors.report({ file, line: recLine, message: `expected ${nFields} fields, found ${field}`, received: field, expected: `${nFields} fields` });
          continue;
        }
        if (bad) {
          errors.report({ file, line: recLine, column: bad.column, message: `cannot read ${JSON.stringify(bad.received)} as a number`, received: bad.received, expected: 'a number' });
          continue;
        }
        out.push(hasNull ? setRowOrigin(make(vals), file, recLine) : make(vals));
      }
      for (const r of out) yield r;
      // Keep the unparsed tail (a record cut by the chunk end) at the front of the buffer.
      if (pos > 0) {
        buf.copy(buf, 0, pos, len);
        len -= pos;
      }
      if (eof && len > 0) throw new TfpipeError('E_INTERNAL', `fast CSV reader stopped with ${len} unread bytes in ${file}`);
      o.progress?.tick(recordsRead, bytes);
    }
    o.progress?.end(recordsRead, bytes);
  } finally {
    await fh.close();
  }
}

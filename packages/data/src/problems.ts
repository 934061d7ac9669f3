import { TfpipeError } from '@tfpipe/core';
import type { DataProblem, SkipReason, SkipSummary } from './types.js';

const KEEP = 100;
/** Where each reason's first rows are kept, for the log, run.json and the report. */
const FIRST = 5;

/** Renders `file line 12, column "age": message`. */
export function describeProblem(p: DataProblem): string {
  const where = [p.file, p.line !== undefined ? `line ${p.line}` : undefined, p.record !== undefined ? `record ${p.record}` : undefined, p.column !== undefined ? `column "${p.column}"` : undefined]
    .filter(Boolean)
    .join(', ');
  return `${where}: ${p.message}`;
}

/** `line 12`, `record 3` or the file: where a skipped row was, short. */
const whereOf = (p: DataProblem): string => (p.line !== undefined ? `line ${p.line}` : p.record !== undefined ? `record ${p.record}` : p.file);

export type ProblemReport = DataProblem & { received?: unknown; expected?: string; reason?: string };

/** The reason a bad row is counted under: given, or from what was wrong with it. */
function reasonOf(p: ProblemReport): string {
  if (p.reason) return p.reason;
  if (p.expected?.endsWith(' fields')) return 'wrong number of fields';
  if (p.column !== undefined) return `unreadable value in column "${p.column}"`;
  return 'malformed record';
}

/** `maxSkipped`: a count of rows (an integer), or a fraction of the rows read (0 < x < 1). */
export type MaxSkipped = number;

/**
 * Applies `onError` to bad rows: `fail` throws an E_DATA error naming file, line and column; `skip`
 * records the row (once, however many passes read it), counted per reason, so `skipped()` and
 * `summary()` report it. `maxSkipped` turns too many skipped rows into an error: a count as soon as it
 * is passed, a fraction at the end of each complete pass over the data.
 */
export class RowErrors {
  readonly #policy: 'fail' | 'skip';
  readonly #path: (string | number)[];
  readonly #max: MaxSkipped | undefined;
  readonly #seen = new Set<string>();
  readonly #kept: DataProblem[] = [];
  readonly #reasons = new Map<string, SkipReason>();

  constructor(policy: 'fail' | 'skip', path: (string | number)[], options: { maxSkipped?: MaxSkipped | undefined } = {}) {
    this.#policy = policy;
    this.#path = path;
    this.#max = options.maxSkipped;
  }

  /** Throws under `fail`; records and returns under `skip` (the caller then drops the row). */
  report(p: ProblemReport): void {
    if (this.#policy === 'fail') {
      const issue = {
        path: this.#path,
        message: describeProblem(p),
        ...(p.received !== undefined ? { received: p.received } : {}),
        ...(p.expected !== undefined ? { expected: p.expected } : {}),
      };
      const detail = [p.received !== undefined ? `received ${JSON.stringify(p.received)}` : '', p.expected ? `expected ${p.expected}` : '']
        .filter(Boolean)
        .join('; ');
      throw new TfpipeError('E_DATA', `${describeProblem(p)}${detail ? ` (${detail})` : ''}`, {
        path: [...this.#path, 'onError'],
        issues: [issue],
        hint: 'Fix the data, or set onError: skip to skip (and count) bad rows.',
      });
    }
    const key = `${p.file}\0${p.line ?? ''}\0${p.record ?? ''}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const problem: DataProblem = {
      file: p.file,
      ...(p.line !== undefined ? { line: p.line } : {}),
      ...(p.record !== undefined ? { record: p.record } : {}),
      ...(p.column !== undefined ? { column: p.column } : {}),
      message: p.message,
    };
    if (this.#kept.length < KEEP) this.#kept.push(problem);
    const reason = reasonOf(p);
    let r = this.#reasons.get(reason);
    if (!r) {
      r = { reason, count: 0, first: [] };
      this.#reasons.set(reason, r);
    }
    r.count++;
    if (r.first.length < FIRST) r.first.push(p.received !== undefined ? { ...problem, received: p.received } : problem);
    if (this.#max !== undefined && Number.isInteger(this.#max) && this.#seen.size > this.#max) {
      throw this.#tooMany(`${this.#seen.size} rows skipped, more than maxSkipped: ${this.#max}`);
    }
  }

  /** Whether `endPass` needs calling: a fractional `maxSkipped` under `skip`. */
  get checksPasses(): boolean {
    return this.#policy === 'skip' && this.#max !== undefined && !Number.isInteger(this.#max);
  }

  /**
   * Called at the end of a complete pass that yielded `rows` rows: enforces a fractional `maxSkipped`
   * against the rows read in that pass (kept plus skipped).
   */
  endPass(rows: number): void {
    if (this.#max === undefined || Number.isInteger(this.#max) || this.#seen.size === 0) return;
    const total = rows + this.#seen.size;
    const fraction = this.#seen.size / total;
    if (fraction > this.#max) {
      throw this.#tooMany(`${this.#seen.size} of ${total} rows skipped (${(fraction * 100).toFixed(2)}%), more than maxSkipped: ${this.#max} (${(this.#max * 100).toFixed(2)}%)`);
    }
  }

  #tooMany(what: string): TfpipeError {
    return new TfpipeError('E_DATA', `${this.#path.join('.')}: ${what}: ${this.describe()}`, {
      path: [...this.#path, 'maxSkipped'],
      issues: [{ path: [...this.#path, 'maxSkipped'], message: what, received: this.#seen.size, expected: `at most ${this.#max}${Number.isInteger(this.#max) ? ' rows' : ' of the rows'}` }],
      hint: 'Fix the data, or raise maxSkipped if losing these rows is acceptable.',
    });
  }

  skipped(): number {
    return this.#seen.size;
  }

  problems(): DataProblem[] {
    return [...this.#kept];
  }

  /** Skipped rows per reason, each with its first few rows. */
  summary(): SkipSummary {
    return { skipped: this.#seen.size, reasons: [...this.#reasons.values()].map((r) => ({ ...r, first: [...r.first] })) };
  }

  /** One line per reason: `3 rows: unreadable value in column "age" (line 4, line 9, line 12)`. */
  describe(): string {
    return describeSkips(this.summary());
  }
}

/** A skip summary in words, one clause per reason, naming the first rows of each. */
export function describeSkips(s: SkipSummary): string {
  return s.reasons
    .map((r) => `${r.count} ${r.count === 1 ? 'row' : 'rows'}: ${r.reason} (${r.first.map(whereOf).join(', ')}${r.count > r.first.length ? ', ...' : ''})`)
    .join('; ');
}

import { TfpipeError } from '@tfpipe/core';
import type { DataProblem } from './types.js';

const KEEP = 100;

/** Renders `file line 12, column "age": message`. */
export function describeProblem(p: DataProblem): string {
  const where = [p.file, p.line !== undefined ? `line ${p.line}` : undefined, p.record !== undefined ? `record ${p.record}` : undefined, p.column !== undefined ? `column "${p.column}"` : undefined]
    .filter(Boolean)
    .join(', ');
  return `${where}: ${p.message}`;
}

/**
 * Applies `onError` to bad rows: `fail` throws an E_DATA error naming file, line and column; `skip`
 * records the row (once, however many passes read it) so `skipped()` reports it.
 */
export class RowErrors {
  readonly #policy: 'fail' | 'skip';
  readonly #path: (string | number)[];
  readonly #seen = new Set<string>();
  readonly #kept: DataProblem[] = [];

  constructor(policy: 'fail' | 'skip', path: (string | number)[]) {
    this.#policy = policy;
    this.#path = path;
  }

  /** Throws under `fail`; records and returns under `skip` (the caller then drops the row). */
  report(p: DataProblem & { received?: unknown; expected?: string }): void {
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
    if (this.#kept.length < KEEP) this.#kept.push({ file: p.file, ...(p.line !== undefined ? { line: p.line } : {}), ...(p.record !== undefined ? { record: p.record } : {}), ...(p.column !== undefined ? { column: p.column } : {}), message: p.message });
  }

  skipped(): number {
    return this.#seen.size;
  }

  problems(): DataProblem[] {
    return [...this.#kept];
  }
}

import { z } from 'zod';
import type { Issue } from '@tfpipe/core';
import type { Value } from './_row.js';
import { type Column, findColumn, kindIssue } from './columns.js';
import { dataError, isMissing } from './transform.js';

/** Fields shared by the text transforms. */
export const textFields = {
  lowercase: z.boolean().default(true).describe('Lowercase before splitting.'),
  split: z
    .enum(['word', 'whitespace', 'char'])
    .default('word')
    .describe("word: runs of letters, digits and ' (punctuation dropped); whitespace: split on spaces only; char: one token per character."),
  maxVocab: z.number().int().min(1).default(10_000).describe('Keep the most frequent tokens of the training split (ties: alphabetical).'),
  minCount: z.number().int().min(1).default(1).describe('Keep only tokens seen at least this often in training.'),
};

export interface TextOptions {
  lowercase: boolean;
  split: 'word' | 'whitespace' | 'char';
}

const WORD = /[\p{L}\p{N}']+/gu;

/** Splits one text into tokens. */
export function tokenizeText(text: string, o: TextOptions): string[] {
  const t = o.lowercase ? text.toLowerCase() : text;
  if (o.split === 'char') return Array.from(t);
  if (o.split === 'whitespace') return t.split(/\s+/u).filter((s) => s !== '');
  return t.match(WORD) ?? [];
}

/** The text of a cell; missing values and non-strings are E_DATA errors. */
export function textOf(type: string, column: string, v: Value | undefined): string {
  if (typeof v === 'string') return v;
  if (isMissing(v)) throw dataError(type, column, v ?? null, 'a string', 'Add `{ type: impute, strategy: constant, value: "" }` before it.');
  throw dataError(type, column, v, 'a string');
}

/** Validates that each named column is a string column. */
export function checkTextColumns(type: string, names: readonly string[], columns: readonly Column[], path: (string | number)[], issues: Issue[]): void {
  names.forEach((name, i) => {
    const p = names.length === 1 ? [...path, 'column'] : [...path, 'columns', i];
    const c = findColumn(columns, name, p, issues);
    if (c && c.kind !== 'string') issues.push(kindIssue(c, p, 'a string column', type));
  });
}

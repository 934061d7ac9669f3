import { z } from 'zod';
import type { Issue } from '@tfpipe/core';
import type { Row, Value } from './_row.js';
import { Counter, sortKeys } from './_stats.js';
import { type Column, findColumn, kindIssue } from './columns.js';
import { type Transform, dataError, isMissing, requireFitted } from './transform.js';

export type Category = string | number | boolean;

/** Fields shared by one-hot and label-encode. */
export const categoryFields = {
  categories: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .min(1)
    .optional()
    .describe('Fixed category list, in this order (nothing is fitted). When absent, learnt from the training split and sorted.'),
  maxCategories: z.number().int().min(1).optional().describe('Keep only the most frequent categories (ties: smallest first); the rest are unknown.'),
  minCount: z.number().int().min(1).default(1).describe('Keep only categories seen at least this often in training.'),
};

/** The lookup key of a category value; missing or non-scalar values are E_DATA errors. */
export function categoryKey(type: string, column: string, v: Value | undefined): string {
  if (isMissing(v)) throw dataError(type, column, v ?? null, 'a category value', 'Add an impute transform before it.');
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw dataError(type, column, v, 'a string, number or boolean');
}

/** Counts categories per column in one pass and keeps the typed value of each key. */
export class CategoryCounter {
  private readonly counters = new Map<string, Counter>();
  private readonly values = new Map<string, Map<string, Category>>();

  constructor(
    private readonly type: string,
    private readonly names: readonly string[],
  ) {
    for (const n of names) {
      this.counters.set(n, new Counter());
      this.values.set(n, new Map());
    }
  }

  update(row: Record<string, Value>): void {
    for (const n of this.names) {
      const v = row[n];
      const k = categoryKey(this.type, n, v);
      this.counters.get(n)!.add(k);
      if (!this.values.get(n)!.has(k)) this.values.get(n)!.set(k, v as Category);
    }
  }

  /** Kept categories per column: frequency filter first, then sorted. */
  result(maxCategories: number | undefined, minCount: number): Record<string, Category[]> {
    const out: Record<string, Category[]> = {};
    for (const n of this.names) {
      const kept = this.counters.get(n)!.top(maxCategories, minCount);
      out[n] = sortKeys(kept).map((k) => this.values.get(n)!.get(k)!);
    }
    return out;
  }
}

/** Validates that each named column is a scalar category column. */
export function checkCategoryColumns(type: string, names: readonly string[], columns: readonly Column[], path: (string | number)[], issues: Issue[]): void {
  names.forEach((name, i) => {
    const p = names.length === 1 ? [...path, 'column'] : [...path, 'columns', i];
    const c = findColumn(columns, name, p, issues);
    if (c && c.kind !== 'string' && c.kind !== 'number' && c.kind !== 'boolean') issues.push(kindIssue(c, p, 'a string, number or boolean column', type));
  });
}

/** key → index maps per column. */
export function indexMaps(categories: Record<string, Category[]>): Map<string, Map<string, number>> {
  return new Map(Object.entries(categories).map(([n, list]) => [n, new Map(list.map((c, i) => [String(c), i]))]));
}

/** What differs between the category encoders (one-hot, label-encode): the output column and the encoding. */
export interface CategoryEncoding {
  /** The column out, given the number of codes (known categories, plus the unknown bucket); -1 before fit. */
  outputColumn(column: Column, codes: number | undefined): Column;
  /** Rewrites `row[column]` from its category index (undefined: a category not seen in training). */
  encode(row: Row, column: string, index: number | undefined, map: Map<string, number>): void;
  /** Category index → original value, where an inverse exists. */
  inverse?: boolean;
}

/**
 * The shared body of a category encoder: categories fitted on the training split (or fixed by the config),
 * the output columns, state save/load; `encoding` says how one value is written.
 */
export function categoryTransform(
  type: string,
  config: { categories?: Category[] | undefined; maxCategories?: number | undefined; minCount: number; unknown: string },
  names: string[],
  encoding: CategoryEncoding,
): Transform {
  const fixed = config.categories;
  let categories: Record<string, Category[]> | undefined = fixed ? Object.fromEntries(names.map((n) => [n, fixed])) : undefined;
  let maps = categories ? indexMaps(categories) : undefined;
  const extra = config.unknown === 'bucket' ? 1 : 0;
  return {
    type,
    columns: names,
    needsFit: () => categories === undefined,
    ...(fixed
      ? {}
      : {
          fitter() {
            const counter = new CategoryCounter(type, names);
            return {
              update: (row) => counter.update(row),
              finish() {
                categories = counter.result(config.maxCategories, config.minCount);
                maps = indexMaps(categories);
              },
            };
          },
        }),
    outputColumns(columns, path, issues): Column[] {
      checkCategoryColumns(type, names, columns, path, issues);
      return columns.map((c) => (names.includes(c.name) ? encoding.outputColumn(c, categories ? categories[c.name]!.length + extra : undefined) : c));
    },
    apply(row) {
      requireFitted(maps !== undefined, type);
      for (const n of names) {
        const map = maps!.get(n)!;
        encoding.encode(row, n, map.get(categoryKey(type, n, row[n])), map);
      }
    },
    ...(encoding.inverse
      ? {
          inverse(row: Row) {
            requireFitted(categories !== undefined, type);
            for (const n of names) {
              const code = row[n];
              // The unknown bucket has no category to go back to: it stays null.
              row[n] = typeof code === 'number' ? (categories![n]![code] ?? null) : null;
            }
          },
        }
      : {}),
    state: () => ({ categories }),
    load(state) {
      categories = (state as { categories?: Record<string, Category[]> }).categories;
      maps = categories ? indexMaps(categories) : undefined;
    },
  };
}

import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { findColumn } from '../columns.js';
import { type Transform, type TransformEntry, requireFitted } from '../transform.js';

export const kAnonymitySchema = z
  .object({
    type: z.literal('k-anonymity'),
    columns: z.array(z.string().min(1)).min(1).describe('The quasi-identifier columns (as they are at this point of the list: after generalize/hash).'),
    k: z.number().int().min(2).describe('Every combination of the quasi-identifiers must be shared by at least k training rows.'),
  })
  .strict()
  .describe('Checks k-anonymity of the training split over quasi-identifiers: fitting fails the run when the smallest group has fewer than k rows. Changes no value; saves only group counts, never values.');

export type KAnonymityConfig = z.output<typeof kAnonymitySchema>;

interface KState {
  k: number;
  rows: number;
  groups: number;
  smallestGroup: number;
  /** Groups below k (count only). */
  groupsBelowK: number;
}

export const kAnonymity: TransformEntry<KAnonymityConfig> = {
  type: 'k-anonymity',
  schema: kAnonymitySchema,
  description: 'Fail the run unless the training data is k-anonymous over the quasi-identifiers.',
  create(config): Transform {
    let state: KState | undefined;
    return {
      type: 'k-anonymity',
      // It rewrites nothing, but names what it reads so that it is fitted on rows the earlier transforms finished.
      columns: config.columns,
      needsFit: () => state === undefined,
      fitter() {
        const counts = new Map<string, number>();
        let rows = 0;
        return {
          update(row) {
            rows++;
            const key = JSON.stringify(config.columns.map((c) => row[c] ?? null));
            counts.set(key, (counts.get(key) ?? 0) + 1);
          },
          finish() {
            let smallest = Number.POSITIVE_INFINITY;
            let below = 0;
            for (const n of counts.values()) {
              smallest = Math.min(smallest, n);
              if (n < config.k) below++;
            }
            const s: KState = { k: config.k, rows, groups: counts.size, smallestGroup: Number.isFinite(smallest) ? smallest : 0, groupsBelowK: below };
            counts.clear();
            if (rows > 0 && s.smallestGroup < config.k) {
              throw new TfpipeError(
                'E_DATA',
                `k-anonymity: over (${config.columns.join(', ')}) the smallest group of the training split has ${s.smallestGroup} row(s); at least k = ${config.k} required (${below} of ${s.groups} groups are smaller)`,
                {
                  issues: [{ path: ['k'], message: 'the training data is not k-anonymous', received: s.smallestGroup, expected: `every group of at least ${config.k} rows` }],
                  hint: 'Generalize the quasi-identifiers more coarsely (generalize: bins, date: year, keepPrefix) or drop one of them.',
                },
              );
            }
            state = s;
          },
        };
      },
      outputColumns(columns, path, issues) {
        config.columns.forEach((n, i) => {
          findColumn(columns, n, [...path, 'columns', i], issues);
        });
        return [...columns];
      },
      apply() {
        requireFitted(state !== undefined, 'k-anonymity');
      },
      state: () => state ?? null,
      load(s) {
        state = (s as KState | null) ?? undefined;
      },
    };
  },
};

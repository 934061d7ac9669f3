import { z } from 'zod';
import type { Issue } from '@tfpipe/core';
import { ExactMedian, Welford } from '../_stats.js';
import { type Column, findColumn, kindIssue } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField, isMissing, requireFitted } from '../transform.js';

export const imputeSchema = z
  .object({
    type: z.literal('impute'),
    ...columnFields,
    strategy: z
      .enum(['mean', 'median', 'constant', 'most-frequent'])
      .default('mean')
      .describe('mean (one pass), median (exact, keeps the column in memory), constant, most-frequent (ties: smallest value).'),
    value: z.union([z.number(), z.string(), z.boolean()]).optional().describe('The fill value for strategy constant.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .superRefine((v, ctx) => {
    if (v.strategy === 'constant' && v.value === undefined) ctx.addIssue({ code: 'custom', message: 'strategy constant needs `value`', path: ['value'], input: v });
    if (v.strategy !== 'constant' && v.value !== undefined)
      ctx.addIssue({ code: 'custom', message: '`value` is only used with strategy constant', path: ['value'], input: v.value });
  })
  .describe('Fills missing values (null, absent, NaN) of scalar columns with a statistic of the training split or a constant.');

export type ImputeConfig = z.output<typeof imputeSchema>;
type Fill = number | string | boolean;

const KIND_OF = { number: 'number', string: 'string', boolean: 'boolean' } as const;

export const impute: TransformEntry<ImputeConfig> = {
  type: 'impute',
  schema: imputeSchema,
  description: 'Fill missing values.',
  create(config): Transform {
    const names = columnList(config);
    const { strategy } = config;
    let fill: Record<string, Fill> | undefined =
      strategy === 'constant' ? Object.fromEntries(names.map((n) => [n, config.value as Fill])) : undefined;
    return {
      type: 'impute',
      columns: names,
      needsFit: () => fill === undefined,
      ...(strategy === 'constant'
        ? {}
        : {
            fitter() {
              const mean = new Map(names.map((n) => [n, new Welford()]));
              const median = new Map(names.map((n) => [n, new ExactMedian()]));
              const freq = new Map(names.map((n) => [n, new Map<string, { value: Fill; count: number }>()]));
              return {
                update(row) {
                  for (const n of names) {
                    const v = row[n];
                    if (isMissing(v)) continue;
                    if (strategy === 'most-frequent') {
                      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') throw dataError('impute', n, v, 'a scalar');
                      const m = freq.get(n)!;
                      const k = `${typeof v}:${String(v)}`;
                      const e = m.get(k);
                      if (e) e.count++;
                      else m.set(k, { value: v, count: 1 });
                    } else {
                      if (typeof v !== 'number') throw dataError('impute', n, v, 'a number');
                      if (strategy === 'mean') mean.get(n)!.update(v);
                      else median.get(n)!.update(v);
                    }
                  }
                },
                finish() {
                  const out: Record<string, Fill> = {};
                  for (const n of names) {
                    if (strategy === 'mean') out[n] = mean.get(n)!.count > 0 ? mean.get(n)!.mean : Number.NaN;
                    else if (strategy === 'median') out[n] = median.get(n)!.median();
                    else {
                      const best = [...freq.get(n)!.values()].sort((a, b) => b.count - a.count || compare(a.value, b.value))[0];
                      if (best) out[n] = best.value;
                    }
                    if (out[n] === undefined || (typeof out[n] === 'number' && Number.isNaN(out[n]))) {
                      throw dataError('impute', n, 'no values', 'at least one non-missing value in the training split', 'Use strategy constant.');
                    }
                  }
                  fill = out;
                },
              };
            },
          }),
      outputColumns(columns, path, issues: Issue[]): Column[] {
        names.forEach((name, i) => {
          const p = names.length === 1 ? [...path, 'column'] : [...path, 'columns', i];
          const c = findColumn(columns, name, p, issues);
          if (!c) return;
          if (c.kind === 'image' || c.kind === 'vector') issues.push(kindIssue(c, p, 'a number, string or boolean column', 'impute'));
          else if ((strategy === 'mean' || strategy === 'median') && c.kind !== 'number') issues.push(kindIssue(c, p, 'a number column', `impute (${strategy})`));
          else if (strategy === 'constant' && KIND_OF[typeof config.value as keyof typeof KIND_OF] !== c.kind) {
            issues.push({ path: [...path, 'value'], message: `the fill value does not match column "${c.name}" of kind ${c.kind}`, received: config.value, expected: `a ${c.kind}` });
          }
        });
        return columns.map((c) => ({ ...c }));
      },
      apply(row) {
        requireFitted(fill !== undefined, 'impute');
        for (const n of names) if (isMissing(row[n])) row[n] = fill![n]!;
      },
      state: () => ({ fill }),
      load(state) {
        fill = (state as { fill?: Record<string, Fill> }).fill;
      },
    };
  },
};

function compare(a: Fill, b: Fill): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

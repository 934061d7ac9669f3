import { z } from 'zod';
import { kindIssue } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField, isMissing } from '../transform.js';

export const generalizeSchema = z
  .object({
    type: z.literal('generalize'),
    ...columnFields,
    bins: z
      .array(z.number())
      .min(1)
      .optional()
      .describe('Ascending bin edges for numbers: 37 with [18, 30, 50] becomes "[30, 50)"; below the first edge "< 18", from the last ">= 50".'),
    date: z
      .enum(['year', 'month', 'day'])
      .optional()
      .describe('Coarsen ISO dates (YYYY-MM-DD…) to the year ("2024"), month ("2024-05") or day.'),
    keepPrefix: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Keep the first n characters of a string and replace the rest by "*" (postcodes: "SW1A 1AA" with 3 → "SW1*").'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .superRefine((v, ctx) => {
    const given = [v.bins, v.date, v.keepPrefix].filter((x) => x !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of bins, date or keepPrefix', path: ['bins'], input: v });
    if (v.bins?.some((b, i) => i > 0 && !(b > v.bins![i - 1]!))) ctx.addIssue({ code: 'custom', message: 'bins must be strictly ascending', path: ['bins'], input: v.bins });
  })
  .describe('Replaces exact values by coarser ones (a string category): numbers into bins, dates to a coarser level, strings to a prefix. Nothing to fit.');

export type GeneralizeConfig = z.output<typeof generalizeSchema>;

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;
const LENGTH = { year: 4, month: 7, day: 10 } as const;

export function binLabel(x: number, bins: readonly number[]): string {
  if (x < bins[0]!) return `< ${bins[0]}`;
  for (let i = 1; i < bins.length; i++) if (x < bins[i]!) return `[${bins[i - 1]}, ${bins[i]})`;
  return `>= ${bins[bins.length - 1]}`;
}

export const generalize: TransformEntry<GeneralizeConfig> = {
  type: 'generalize',
  schema: generalizeSchema,
  description: 'Generalize quasi-identifiers (age bins, dates to month/year, postcode prefixes).',
  create(config): Transform {
    const names = columnList(config);
    const wants = config.bins ? 'number' : 'string';
    return {
      type: 'generalize',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues) {
        return columns.map((c) => {
          if (!names.includes(c.name)) return c;
          if (c.kind !== wants) issues.push(kindIssue(c, path, `a ${wants} column`, 'generalize'));
          return { name: c.name, kind: 'string' as const };
        });
      },
      apply(row) {
        for (const n of names) {
          const v = row[n];
          if (isMissing(v)) continue;
          if (config.bins) {
            if (typeof v !== 'number') throw dataError('generalize', n, `(a ${typeof v}, not shown)`, 'a number');
            row[n] = binLabel(v, config.bins);
          } else if (config.date) {
            const m = typeof v === 'string' ? DATE.exec(v) : null;
            if (!m) throw dataError('generalize', n, '(a value that is not an ISO date)', 'an ISO date YYYY-MM-DD');
            row[n] = v.toString().slice(0, LENGTH[config.date]);
          } else {
            const s = String(v);
            const k = config.keepPrefix!;
            row[n] = s.length > k ? `${s.slice(0, k)}*` : s;
          }
        }
      },
      state: () => ({}),
      load() {},
    };
  },
};

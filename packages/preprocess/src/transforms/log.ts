import { z } from 'zod';
import { mapColumns, numericOutputColumns } from '../_numeric.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField } from '../transform.js';

export const logSchema = z
  .object({
    type: z.literal('log'),
    ...columnFields,
    offset: z.number().min(0).default(1).describe('Added before the log: 1 gives log1p, so 0 maps to 0.'),
    base: z.enum(['e', '2', '10']).default('e').describe('Logarithm base.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('log(x + offset) element-wise; x + offset <= 0 is an E_DATA error (never NaN).');

export type LogConfig = z.output<typeof logSchema>;

const LN = { e: 1, '2': Math.LN2, '10': Math.LN10 } as const;

export const log: TransformEntry<LogConfig> = {
  type: 'log',
  schema: logSchema,
  description: 'Log transform for skewed, non-negative columns.',
  create(config): Transform {
    const names = columnList(config);
    const { offset } = config;
    const ln = LN[config.base];
    return {
      type: 'log',
      columns: names,
      needsFit: () => false,
      outputColumns: (columns, path, issues) => numericOutputColumns('log', names, columns, path, issues),
      apply(row) {
        mapColumns('log', row, names, (n) => (x) => {
          const y = x + offset;
          if (!(y > 0)) throw dataError('log', n, x, `a value above ${-offset} (offset ${offset})`, 'Clip the column first or raise `offset`.');
          return Math.log(y) / ln;
        });
      },
      inverse(row) {
        mapColumns('log', row, names, () => (y) => Math.exp(y * ln) - offset);
      },
      state: () => ({}),
      load() {},
    };
  },
};

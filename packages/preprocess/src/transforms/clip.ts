import { z } from 'zod';
import { mapColumns, numericOutputColumns } from '../_numeric.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField } from '../transform.js';

export const clipSchema = z
  .object({
    type: z.literal('clip'),
    ...columnFields,
    min: z.number().optional().describe('Lower bound (none when absent).'),
    max: z.number().optional().describe('Upper bound (none when absent).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .superRefine((v, ctx) => {
    if (v.min === undefined && v.max === undefined) ctx.addIssue({ code: 'custom', message: 'give min, max or both', path: ['min'], input: v });
    if (v.min !== undefined && v.max !== undefined && v.min > v.max) ctx.addIssue({ code: 'custom', message: 'min must not exceed max', path: ['max'], input: v.max });
  })
  .describe('Limits values to [min, max] element-wise; nothing to fit.');

export type ClipConfig = z.output<typeof clipSchema>;

export const clip: TransformEntry<ClipConfig> = {
  type: 'clip',
  schema: clipSchema,
  description: 'Clamp values into [min, max].',
  create(config): Transform {
    const names = columnList(config);
    const lo = config.min ?? Number.NEGATIVE_INFINITY;
    const hi = config.max ?? Number.POSITIVE_INFINITY;
    return {
      type: 'clip',
      columns: names,
      needsFit: () => false,
      outputColumns: (columns, path, issues) => numericOutputColumns('clip', names, columns, path, issues),
      apply(row) {
        mapColumns('clip', row, names, () => (x) => Math.min(hi, Math.max(lo, x)));
      },
      state: () => ({}),
      load() {},
    };
  },
};

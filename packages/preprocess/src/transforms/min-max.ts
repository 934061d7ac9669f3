import { z } from 'zod';
import { mapColumns, numericOutputColumns, welfordFitter } from '../_numeric.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, requireFitted } from '../transform.js';

export const minMaxSchema = z
  .object({
    type: z.literal('min-max'),
    ...columnFields,
    min: z.number().default(0).describe('Lower end of the output range.'),
    max: z.number().default(1).describe('Upper end of the output range.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .superRefine((v, ctx) => {
    if (!(v.min < v.max)) ctx.addIssue({ code: 'custom', message: 'min must be below max', path: ['max'], input: v.max });
  })
  .describe('Maps the training [min, max] of each column linearly onto [min, max]. A constant column maps to `min`.');

export type MinMaxConfig = z.output<typeof minMaxSchema>;
type Stats = Record<string, { min: number; max: number }>;

export const minMax: TransformEntry<MinMaxConfig> = {
  type: 'min-max',
  schema: minMaxSchema,
  description: 'Scale each column into a fixed range.',
  create(config): Transform {
    const names = columnList(config);
    let stats: Stats | undefined;
    const affine = (name: string) => {
      const s = stats![name]!;
      const range = s.max - s.min;
      // A constant (or empty, or denormal-range) column: scale 1 so values stay finite instead of NaN/Infinity.
      const k0 = (config.max - config.min) / range;
      const k = range > 0 && Number.isFinite(k0) ? k0 : 1;
      const lo = Number.isFinite(s.min) ? s.min : 0;
      return { k, lo };
    };
    return {
      type: 'min-max',
      columns: names,
      needsFit: () => stats === undefined,
      fitter: () =>
        welfordFitter('min-max', names, (acc) => {
          stats = Object.fromEntries(names.map((n) => [n, { min: acc.get(n)!.min, max: acc.get(n)!.max }]));
        }),
      outputColumns: (columns, path, issues) => numericOutputColumns('min-max', names, columns, path, issues),
      apply(row) {
        requireFitted(stats !== undefined, 'min-max');
        mapColumns('min-max', row, names, (n) => {
          const { k, lo } = affine(n);
          return (x) => (x - lo) * k + config.min;
        });
      },
      inverse(row) {
        requireFitted(stats !== undefined, 'min-max');
        mapColumns('min-max', row, names, (n) => {
          const { k, lo } = affine(n);
          return (y) => (y - config.min) / k + lo;
        });
      },
      // JSON has no Infinity: an empty column stores null bounds.
      state: () => ({
        stats: Object.fromEntries(
          Object.entries(stats ?? {}).map(([n, s]) => [n, { min: Number.isFinite(s.min) ? s.min : null, max: Number.isFinite(s.max) ? s.max : null }]),
        ),
        fitted: stats !== undefined,
      }),
      load(state) {
        const s = state as { stats: Record<string, { min: number | null; max: number | null }>; fitted: boolean };
        stats = s.fitted
          ? Object.fromEntries(
              Object.entries(s.stats).map(([n, v]) => [n, { min: v.min ?? Number.POSITIVE_INFINITY, max: v.max ?? Number.NEGATIVE_INFINITY }]),
            )
          : undefined;
      },
    };
  },
};

import { z } from 'zod';
import { mapColumns, numericOutputColumns, welfordFitter } from '../_numeric.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, requireFitted } from '../transform.js';

export const standardizeSchema = z
  .object({
    type: z.literal('standardize'),
    ...columnFields,
    withMean: z.boolean().default(true).describe('Subtract the mean.'),
    withStd: z.boolean().default(true).describe('Divide by the (population) standard deviation; a constant (or denormal-spread) column is divided by 1.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('(x - mean) / std, fitted in one pass (Welford). Vector and image columns use one mean/std over all their elements.');

export type StandardizeConfig = z.output<typeof standardizeSchema>;
type Stats = Record<string, { mean: number; std: number }>;

export const standardize: TransformEntry<StandardizeConfig> = {
  type: 'standardize',
  schema: standardizeSchema,
  description: 'Zero mean, unit variance per column.',
  create(config): Transform {
    const names = columnList(config);
    let stats: Stats | undefined;
    const scale = (name: string) => {
      const s = stats![name]!;
      return { mean: config.withMean ? s.mean : 0, std: config.withStd && s.std > 0 && Number.isFinite(1 / s.std) ? s.std : 1 };
    };
    return {
      type: 'standardize',
      columns: names,
      needsFit: () => stats === undefined,
      fitter: () =>
        welfordFitter('standardize', names, (acc) => {
          stats = Object.fromEntries(names.map((n) => [n, { mean: acc.get(n)!.mean, std: acc.get(n)!.std }]));
        }),
      outputColumns: (columns, path, issues) => numericOutputColumns('standardize', names, columns, path, issues),
      apply(row) {
        requireFitted(stats !== undefined, 'standardize');
        mapColumns('standardize', row, names, (n) => {
          const { mean, std } = scale(n);
          return (x) => (x - mean) / std;
        });
      },
      inverse(row) {
        requireFitted(stats !== undefined, 'standardize');
        mapColumns('standardize', row, names, (n) => {
          const { mean, std } = scale(n);
          return (y) => y * std + mean;
        });
      },
      state: () => ({ stats }),
      load(state) {
        stats = (state as { stats: Stats }).stats;
      },
    };
  },
};

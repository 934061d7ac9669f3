import { z } from 'zod';
import { type Category, CategoryCounter, categoryFields, categoryKey, checkCategoryColumns, indexMaps } from '../_categories.js';
import type { Column } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField, requireFitted } from '../transform.js';

export const labelEncodeSchema = z
  .object({
    type: z.literal('label-encode'),
    ...columnFields,
    ...categoryFields,
    unknown: z
      .enum(['bucket', 'error'])
      .default('bucket')
      .describe('A category not seen in training: code k (the unknown bucket, after the k known codes 0..k-1), or an E_DATA error.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Replaces categories by integer codes 0..k-1 (number column with vocabSize k + 1 with the bucket), e.g. for an embedding.');

export type LabelEncodeConfig = z.output<typeof labelEncodeSchema>;

export const labelEncode: TransformEntry<LabelEncodeConfig> = {
  type: 'label-encode',
  schema: labelEncodeSchema,
  description: 'Integer-encode categories with an unknown bucket.',
  create(config): Transform {
    const names = columnList(config);
    const fixed = config.categories;
    let categories: Record<string, Category[]> | undefined = fixed ? Object.fromEntries(names.map((n) => [n, fixed])) : undefined;
    let maps = categories ? indexMaps(categories) : undefined;
    const extra = config.unknown === 'bucket' ? 1 : 0;
    return {
      type: 'label-encode',
      columns: names,
      needsFit: () => categories === undefined,
      ...(fixed
        ? {}
        : {
            fitter() {
              const counter = new CategoryCounter('label-encode', names);
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
        checkCategoryColumns('label-encode', names, columns, path, issues);
        return columns.map((c) => {
          if (!names.includes(c.name)) return c;
          const out: Column = { name: c.name, kind: 'number' };
          if (categories) out.vocabSize = categories[c.name]!.length + extra;
          return out;
        });
      },
      apply(row) {
        requireFitted(maps !== undefined, 'label-encode');
        for (const n of names) {
          const map = maps!.get(n)!;
          const idx = map.get(categoryKey('label-encode', n, row[n]));
          if (idx !== undefined) row[n] = idx;
          else if (config.unknown === 'bucket') row[n] = map.size;
          else throw dataError('label-encode', n, row[n], `one of ${[...map.keys()].join(', ')}`, 'Set unknown: bucket.');
        }
      },
      inverse(row) {
        requireFitted(categories !== undefined, 'label-encode');
        for (const n of names) {
          const code = row[n];
          // The unknown bucket has no category to go back to: it stays null.
          row[n] = typeof code === 'number' ? (categories![n]![code] ?? null) : null;
        }
      },
      state: () => ({ categories }),
      load(state) {
        categories = (state as { categories?: Record<string, Category[]> }).categories;
        maps = categories ? indexMaps(categories) : undefined;
      },
    };
  },
};

import { z } from 'zod';
import { type Category, CategoryCounter, categoryFields, categoryKey, checkCategoryColumns, indexMaps } from '../_categories.js';
import type { Column } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField, requireFitted } from '../transform.js';

export const oneHotSchema = z
  .object({
    type: z.literal('one-hot'),
    ...columnFields,
    ...categoryFields,
    unknown: z
      .enum(['zeros', 'bucket', 'error'])
      .default('zeros')
      .describe('A category not seen in training: all zeros, an extra last slot, or an E_DATA error.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Replaces each category column by a float vector column of width k (k + 1 with the unknown bucket).');

export type OneHotConfig = z.output<typeof oneHotSchema>;

export const oneHot: TransformEntry<OneHotConfig> = {
  type: 'one-hot',
  schema: oneHotSchema,
  description: 'One-hot encode categories.',
  create(config): Transform {
    const names = columnList(config);
    const fixed = config.categories;
    let categories: Record<string, Category[]> | undefined = fixed ? Object.fromEntries(names.map((n) => [n, fixed])) : undefined;
    let maps = categories ? indexMaps(categories) : undefined;
    const extra = config.unknown === 'bucket' ? 1 : 0;
    return {
      type: 'one-hot',
      columns: names,
      needsFit: () => categories === undefined,
      ...(fixed
        ? {}
        : {
            fitter() {
              const counter = new CategoryCounter('one-hot', names);
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
        checkCategoryColumns('one-hot', names, columns, path, issues);
        return columns.map((c) => {
          if (!names.includes(c.name)) return c;
          const k = categories ? categories[c.name]!.length + extra : -1;
          return { name: c.name, kind: 'vector', shape: [k] };
        });
      },
      apply(row) {
        requireFitted(maps !== undefined, 'one-hot');
        for (const n of names) {
          const map = maps!.get(n)!;
          const out = new Float32Array(map.size + extra);
          const idx = map.get(categoryKey('one-hot', n, row[n]));
          if (idx !== undefined) out[idx] = 1;
          else if (config.unknown === 'bucket') out[map.size] = 1;
          else if (config.unknown === 'error') throw dataError('one-hot', n, row[n], `one of ${[...map.keys()].join(', ')}`, 'Set unknown: zeros or bucket.');
          row[n] = out;
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

import { z } from 'zod';
import { findColumn } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField } from '../transform.js';

export const dropSchema = z
  .object({ type: z.literal('drop'), ...columnFields })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Removes columns (e.g. direct identifiers: names, e-mail addresses) before anything else sees them; nothing to fit.');

export type DropConfig = z.output<typeof dropSchema>;

export const drop: TransformEntry<DropConfig> = {
  type: 'drop',
  schema: dropSchema,
  description: 'Drop columns (personal data that the model must never see).',
  create(config): Transform {
    const names = columnList(config);
    return {
      type: 'drop',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues) {
        names.forEach((n, i) => {
          findColumn(columns, n, [...path, config.columns ? 'columns' : 'column', ...(config.columns ? [i] : [])], issues);
        });
        return columns.filter((c) => !names.includes(c.name));
      },
      apply(row) {
        for (const n of names) delete row[n];
      },
      state: () => ({}),
      load() {},
    };
  },
};

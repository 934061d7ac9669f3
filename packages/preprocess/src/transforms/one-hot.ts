import { z } from 'zod';
import { categoryFields, categoryTransform } from '../_categories.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField } from '../transform.js';

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
    const extra = config.unknown === 'bucket' ? 1 : 0;
    return categoryTransform('one-hot', config, columnList(config), {
      outputColumn: (c, codes) => ({ name: c.name, kind: 'vector', shape: [codes ?? -1] }),
      encode(row, n, idx, map) {
        const out = new Float32Array(map.size + extra);
        if (idx !== undefined) out[idx] = 1;
        else if (config.unknown === 'bucket') out[map.size] = 1;
        else if (config.unknown === 'error') throw dataError('one-hot', n, row[n], `one of ${[...map.keys()].join(', ')}`, 'Set unknown: zeros or bucket.');
        row[n] = out;
      },
    });
  },
};

import { z } from 'zod';
import { categoryFields, categoryTransform } from '../_categories.js';
import { type Transform, type TransformEntry, columnFields, columnList, dataError, exactlyOneColumnField } from '../transform.js';

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
    return categoryTransform('label-encode', config, columnList(config), {
      outputColumn: (c, codes) => ({ name: c.name, kind: 'number', ...(codes !== undefined ? { vocabSize: codes } : {}) }),
      encode(row, n, idx, map) {
        if (idx !== undefined) row[n] = idx;
        else if (config.unknown === 'bucket') row[n] = map.size;
        else throw dataError('label-encode', n, row[n], `one of ${[...map.keys()].join(', ')}`, 'Set unknown: bucket.');
      },
      inverse: true,
    });
  },
};

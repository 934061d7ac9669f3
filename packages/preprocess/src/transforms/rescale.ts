import { z } from 'zod';
import { mapColumns, numericOutputColumns } from '../_numeric.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField } from '../transform.js';

const FRACTION = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(?:\/\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*)?$/i;

/** "1/255" → 0.00392..., "0.5" → 0.5; undefined for anything else. */
export function parseFraction(s: string): number | undefined {
  const m = FRACTION.exec(s);
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  const v = num / den;
  return Number.isFinite(v) ? v : undefined;
}

const scaleValue = z
  .union([
    z.number().refine((x) => Number.isFinite(x) && x !== 0, 'scale must be finite and not 0'),
    z.string().refine((s) => {
      const v = parseFraction(s);
      return v !== undefined && v !== 0;
    }, 'expected a number or a fraction such as "1/255"'),
  ])
  .describe('Multiplier: a number or a fraction string such as "1/255".');

export const rescaleSchema = z
  .object({
    type: z.literal('rescale'),
    ...columnFields,
    scale: scaleValue,
    offset: z.number().default(0).describe('Added after scaling.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('x * scale + offset, element-wise; nothing to fit (e.g. pixels: scale "1/255").');

export type RescaleConfig = z.output<typeof rescaleSchema>;

export const rescale: TransformEntry<RescaleConfig> = {
  type: 'rescale',
  schema: rescaleSchema,
  description: 'Multiply by a fixed scale and add an offset.',
  create(config): Transform {
    const names = columnList(config);
    const scale = typeof config.scale === 'number' ? config.scale : parseFraction(config.scale)!;
    const { offset } = config;
    return {
      type: 'rescale',
      columns: names,
      needsFit: () => false,
      outputColumns: (columns, path, issues) => numericOutputColumns('rescale', names, columns, path, issues),
      apply(row) {
        mapColumns('rescale', row, names, () => (x) => x * scale + offset);
      },
      inverse(row) {
        mapColumns('rescale', row, names, () => (y) => (y - offset) / scale);
      },
      state: () => ({}),
      load() {},
    };
  },
};

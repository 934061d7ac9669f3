import { z } from 'zod';
import { TfpipeError } from '@tfpipe/core';
import { checkImageColumns, pixelsOf, resizeImage } from '../_image.js';
import type { Column } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField } from '../transform.js';

export const imageResizeSchema = z
  .object({
    type: z.literal('image-resize'),
    ...columnFields,
    height: z.number().int().min(1).describe('Output height in pixels.'),
    width: z.number().int().min(1).describe('Output width in pixels.'),
    method: z.enum(['bilinear', 'nearest']).default('bilinear').describe('Interpolation (half-pixel centres, as tf.image.resizeBilinear(x, size, false, true)).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Resizes image columns (HWC) to height x width; float32 out.');

export type ImageResizeConfig = z.output<typeof imageResizeSchema>;

export const imageResize: TransformEntry<ImageResizeConfig> = {
  type: 'image-resize',
  schema: imageResizeSchema,
  description: 'Resize images.',
  create(config): Transform {
    const names = columnList(config);
    // Input dims are learnt from the column infos (outputColumns), and saved so a loaded transform needs no columns.
    let dims: Record<string, [number, number, number]> = {};
    return {
      type: 'image-resize',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues): Column[] {
        const found = checkImageColumns('image-resize', names, columns, path, issues);
        dims = Object.fromEntries(found);
        return columns.map((c) => {
          const d = found.get(c.name);
          return d ? { ...c, shape: [config.height, config.width, d[2]] } : c;
        });
      },
      apply(row) {
        for (const n of names) {
          const d = dims[n];
          if (!d) {
            throw new TfpipeError('E_USAGE', `image-resize: the input shape of column "${n}" is not known yet`, {
              hint: 'Call Preprocessor.outputColumns(sourceColumns) (or fit(rows, { columns })) before fit/transform.',
            });
          }
          row[n] = resizeImage(pixelsOf('image-resize', n, row[n], d[0] * d[1] * d[2]), d, config.height, config.width, config.method);
        }
      },
      state: () => ({ dims }),
      load(state) {
        dims = (state as { dims?: Record<string, [number, number, number]> }).dims ?? {};
      },
    };
  },
};

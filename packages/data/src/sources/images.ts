import { z } from 'zod';
import { commonSourceShape, imageColumnSchema } from '../columns.js';
import { loadImage } from '../image.js';
import { checkSelect, makeSource, resolveExisting, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { ColumnInfo, DataSource, Row, SourceContext } from '../types.js';
import { listClassFolders, mapOrdered } from './folders.js';
import { passCounter } from '../progress.js';

export const imagesSourceSchema = z
  .object({
    type: z.literal('images'),
    dir: z.string().min(1).describe('Folder with one sub-folder per class: <dir>/<class>/<image>'),
    shape: imageColumnSchema.shape.shape,
    fit: imageColumnSchema.shape.fit,
    extensions: z
      .array(z.string().min(1))
      .default(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff'])
      .describe('Files read as images; others in the class folders are ignored'),
    concurrency: z.number().int().positive().default(4).describe('Images decoded at once (sharp runs on the libuv thread pool)'),
    ...commonSourceShape,
  })
  .strict()
  .describe('Image folders: rows { image: Float32Array HWC 0..255, label: class folder name }');

type ImagesConfig = z.output<typeof imagesSourceSchema>;

async function openImages(c: ImagesConfig, ctx: SourceContext): Promise<DataSource> {
  const dir = await resolveExisting(c.dir, ctx, 'dir', 'dir');
  const { files } = await listClassFolders(dir, c.extensions, [...ctx.path, 'dir']);
  const all: ColumnInfo[] = [
    { name: 'image', kind: 'image', shape: [...c.shape] },
    { name: 'label', kind: 'string' },
  ];
  const selected = checkSelect(c.select, ['image', 'label'], ctx);
  const errors = rowErrors(c, ctx);
  const wantImage = selected.includes('image');
  const wanted = c.limit === undefined || c.onError === 'skip' ? files : files.slice(0, c.limit);
  const passes = passCounter(dir, undefined, ctx.onProgress, wanted.length);
  return makeSource({
    columns: selected.map((n) => all.find((col) => col.name === n)!),
    size: c.onError === 'fail' ? files.length : undefined,
    errors,
    limit: c.limit,
    async *rows() {
      const progress = passes.start();
      let n = 0;
      const decode = async (f: { file: string; label: string }) => ({ f, px: wantImage ? await loadImage(f.file, { shape: c.shape, fit: c.fit }) : null });
      for await (const { f, px } of mapOrdered(wanted, c.concurrency, decode)) {
        progress.tick(++n);
        if (typeof px === 'string') {
          errors.report({ file: f.file, column: 'image', message: px });
          continue;
        }
        const row: Row = {};
        if (px) row.image = px;
        if (selected.includes('label')) row.label = f.label;
        yield row;
      }
      progress.end(n);
    },
  });
}

export const imagesSource: SourceEntry<ImagesConfig> = {
  type: 'images',
  schema: imagesSourceSchema,
  description: 'A folder per class of PNG/JPEG images, decoded and resized with sharp',
  open: openImages,
};

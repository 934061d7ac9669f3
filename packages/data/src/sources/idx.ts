import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { commonSourceShape } from '../columns.js';
import { checkSelect, makeSource, resolveExisting, rowErrors } from '../source.js';
import type { SourceEntry } from '../source.js';
import type { ColumnInfo, DataSource, Row, SourceContext } from '../types.js';

export const idxSourceSchema = z
  .object({
    type: z.literal('idx'),
    images: z.string().min(1).describe('IDX file of samples (MNIST-style), gzipped or not'),
    labels: z.string().min(1).optional().describe('IDX file of one label per sample'),
    ...commonSourceShape,
  })
  .strict()
  .describe('IDX files (MNIST, Fashion-MNIST): rows { image: Float32Array raw values, label: number }');

type IdxConfig = z.output<typeof idxSourceSchema>;

/** One parsed IDX file: its dims and a reader of element i as a number. */
export interface IdxArray {
  dims: number[];
  /** Elements per sample (product of dims after the first). */
  stride: number;
  /** Raw bytes for unsigned-byte files (sliced without conversion), else undefined. */
  bytes?: Uint8Array;
  get(i: number): number;
}

// Element type codes of the IDX header's third byte.
const TYPES = new Map<number, { size: number; read: (v: DataView, o: number) => number }>([
  [0x08, { size: 1, read: (v, o) => v.getUint8(o) }],
  [0x09, { size: 1, read: (v, o) => v.getInt8(o) }],
  [0x0b, { size: 2, read: (v, o) => v.getInt16(o) }],
  [0x0c, { size: 4, read: (v, o) => v.getInt32(o) }],
  [0x0d, { size: 4, read: (v, o) => v.getFloat32(o) }],
  [0x0e, { size: 8, read: (v, o) => v.getFloat64(o) }],
]);

/** Parses an IDX buffer (big-endian header: 0, 0, type, ndims, then ndims uint32 sizes). */
export function parseIdx(raw: Uint8Array, file: string, path: (string | number)[]): IdxArray {
  const buf = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const bad = (why: string) => new TfpipeError('E_DATA', `${file}: not an IDX file (${why})`, { path });
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw bad('the first two bytes must be 0');
  const type = TYPES.get(buf[2]!);
  if (!type) throw bad(`unknown element type 0x${buf[2]!.toString(16)}`);
  const nd = buf[3]!;
  if (nd < 1 || buf.length < 4 + 4 * nd) throw bad(`${nd} dimensions`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  const start = 4 + 4 * nd;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length - start < count * type.size) {
    throw new TfpipeError('E_DATA', `${file}: truncated: the header promises ${dims.join('x')} elements (${count * type.size} bytes), the file holds ${buf.length - start}`, { path });
  }
  const stride = dims.slice(1).reduce((a, b) => a * b, 1);
  return {
    dims,
    stride,
    ...(buf[2] === 0x08 ? { bytes: buf.subarray(start, start + count) } : {}),
    get: (i) => type.read(view, start + i * type.size),
  };
}

async function openIdx(c: IdxConfig, ctx: SourceContext): Promise<DataSource> {
  const imagesFile = await resolveExisting(c.images, ctx, 'images');
  const images = parseIdx(await readFile(imagesFile), imagesFile, [...ctx.path, 'images']);
  let labels: IdxArray | undefined;
  let labelsFile: string | undefined;
  if (c.labels !== undefined) {
    labelsFile = await resolveExisting(c.labels, ctx, 'labels');
    labels = parseIdx(await readFile(labelsFile), labelsFile, [...ctx.path, 'labels']);
    if (labels.dims[0] !== images.dims[0] || labels.stride !== 1) {
      throw new TfpipeError('E_DATA', `${labelsFile} holds ${labels.dims.join('x')} labels; ${imagesFile} holds ${images.dims[0]} samples: expected one label per sample`, { path: [...ctx.path, 'labels'] });
    }
  }
  const inner = images.dims.slice(1);
  const shape = inner.length === 2 ? [inner[0]!, inner[1]!, 1] : inner;
  const all: ColumnInfo[] = [{ name: 'image', kind: inner.length >= 2 ? 'image' : 'vector', shape }];
  if (labels) all.push({ name: 'label', kind: 'number' });
  const selected = checkSelect(c.select, all.map((col) => col.name), ctx);
  const wantImage = selected.includes('image');
  const wantLabel = selected.includes('label');
  const n = images.dims[0]!;
  const { stride, bytes } = images;
  return makeSource({
    columns: selected.map((name) => all.find((col) => col.name === name)!),
    size: n,
    errors: rowErrors(c, ctx),
    limit: c.limit,
    *rows() {
      for (let i = 0; i < n; i++) {
        const row: Row = {};
        if (wantImage) {
          let px: Float32Array;
          if (bytes) px = new Float32Array(bytes.subarray(i * stride, (i + 1) * stride));
          else {
            px = new Float32Array(stride);
            for (let j = 0; j < stride; j++) px[j] = images.get(i * stride + j);
          }
          row.image = px;
        }
        if (wantLabel && labels) row.label = labels.get(i);
        yield row;
      }
    },
  });
}

export const idxSource: SourceEntry<IdxConfig> = {
  type: 'idx',
  schema: idxSourceSchema,
  description: 'IDX files (MNIST-style), read once into memory',
  open: openIdx,
};

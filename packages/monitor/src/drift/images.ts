/**
 * Image cells that arrive as encoded files (base64 PNG/JPEG text or a data: URL, as clients post them to
 * `/predict` and the request log keeps them) decoded to pixels, so the image checks see them.
 */
import sharp from 'sharp';
import type { Row } from '@tfpipe/data';
import type { Profile } from '../profile/profile.js';

const DATA_URL = /^data:[^;,]*;base64,/;

async function decode(text: string, shape: readonly number[]): Promise<Float32Array | null> {
  const [h, w, c] = shape as [number, number, number];
  try {
    let img = sharp(Buffer.from(text.replace(DATA_URL, ''), 'base64'), { failOn: 'error' }).resize(w, h, { fit: 'fill' }).removeAlpha();
    img = c === 1 ? img.grayscale() : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== c) return null;
    return Float32Array.from(data);
  } catch {
    return null;
  }
}

/**
 * Rows with every string in an image column of `reference` decoded to HWC pixels 0..255 at the column's
 * shape (resized with `fit: fill`). A cell that does not decode becomes missing, and is counted.
 */
export async function decodeImageCells(rows: readonly Row[], reference: Profile): Promise<{ rows: Row[]; undecodable: number }> {
  const columns = Object.entries(reference.columns).flatMap(([name, p]) => (p.kind === 'image' && p.shape ? [{ name, shape: p.shape }] : []));
  if (columns.length === 0) return { rows: [...rows], undecodable: 0 };
  let undecodable = 0;
  const out: Row[] = [];
  for (const row of rows) {
    let copy: Row | undefined;
    for (const { name, shape } of columns) {
      const v = row[name];
      if (typeof v !== 'string') continue;
      copy ??= { ...row };
      const px = await decode(v, shape);
      if (!px) undecodable++;
      copy[name] = px;
    }
    out.push(copy ?? row);
  }
  return { rows: out, undecodable };
}

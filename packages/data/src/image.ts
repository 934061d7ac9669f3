import { resolve } from 'node:path';
import sharp from 'sharp';

export interface ImageSpec {
  shape: readonly [number, number, 1 | 3];
  fit: 'fill' | 'cover' | 'contain';
}

/**
 * Decodes an image file (PNG, JPEG, WebP, ...) with sharp, resized to [h, w] with `fit`, as grayscale
 * (c = 1) or RGB (c = 3); alpha is dropped. Pixels are Float32Array, row-major HWC, raw 0..255.
 * Returns an error message instead of throwing, so the caller can name the row and apply `onError`.
 */
export async function loadImage(file: string, spec: ImageSpec, baseDir = '.'): Promise<Float32Array | string> {
  const [h, w, c] = spec.shape;
  const path = resolve(baseDir, file);
  try {
    let img = sharp(path, { failOn: 'error' }).resize(w, h, { fit: spec.fit, background: { r: 0, g: 0, b: 0 } }).removeAlpha();
    img = c === 1 ? img.grayscale() : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== c || info.width !== w || info.height !== h) {
      return `image ${path} decoded to ${info.height}x${info.width}x${info.channels}, expected ${h}x${w}x${c}`;
    }
    const out = new Float32Array(h * w * c);
    for (let i = 0; i < out.length; i++) out[i] = data[i]!;
    return out;
  } catch (e) {
    return `cannot read image ${path}: ${(e as Error).message}`;
  }
}

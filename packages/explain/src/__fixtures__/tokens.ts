import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@tfpipe/core';

export const LEN = 12;
export const VOCAB = 40;
/** The one token the label depends on. */
export const KEY = 7;

/**
 * Token ids [n, 12] with trailing padding (0), as the tokenizer writes them: random tokens from 2..39 except 7;
 * odd rows (label 1) hold the key token 7 once, at a random position.
 */
export function keyTokens(n: number, seed: number): { ids: tf.Tensor2D; labels: number[]; rows: number[][] } {
  const rng = createRng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 4 + Math.floor(rng.next() * (LEN - 3));
    const row = Array.from({ length: LEN }, (_, t) => {
      if (t >= len) return 0;
      let v = 2 + Math.floor(rng.next() * (VOCAB - 2));
      if (v === KEY) v = KEY + 1;
      return v;
    });
    const label = i % 2;
    if (label === 1) row[Math.floor(rng.next() * len)] = KEY;
    rows.push(row);
    labels.push(label);
  }
  return { ids: tf.tensor2d(rows, undefined, 'int32'), labels, rows };
}

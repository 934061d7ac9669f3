import { createRng } from '@tfpipe/core';

/**
 * Poisson subsampling, as the RDP accountant assumes: in each of `steps` steps every one of `n` examples
 * is in the batch independently with probability `q`. Indices are drawn by geometric gaps (O(q·n) per
 * step, not O(n)); the same (seed, epoch) always gives the same batches, so a resumed run draws what the
 * uninterrupted one drew.
 */
export function poissonBatchIndices(n: number, q: number, steps: number, seed: number | string): number[][] {
  if (!(q > 0 && q <= 1)) throw new RangeError(`sampling rate must be in (0, 1]; received ${q}`);
  const rng = createRng(`poisson:${seed}`);
  const logMiss = Math.log1p(-q);
  const out: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const batch: number[] = [];
    if (q === 1) {
      for (let i = 0; i < n; i++) batch.push(i);
    } else {
      // The gap to the next included example is Geometric(q): floor(log(U) / log(1 - q)).
      for (let i = Math.floor(Math.log(1 - rng.next()) / logMiss); i < n; i += 1 + Math.floor(Math.log(1 - rng.next()) / logMiss)) batch.push(i);
    }
    out.push(batch);
  }
  return out;
}

/**
 * One-pass summaries of one column, each small enough to keep in `profile.json`: numbers (moments, a
 * seeded reservoir sample, a histogram), categories (counts), text (length and vocabulary) and images
 * (per-channel pixel moments and each image's channel means).
 */
import type { Rng } from '@tfpipe/core';
import { equalEdges, histogram } from '../stats/tests.js';

export interface NumericProfile {
  kind: 'numeric';
  /** Non-missing values seen. */
  count: number;
  missing: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  min: number;
  max: number;
  /** A uniform sample of the values (all of them when there are at most `sampleSize`), in arrival order. */
  sample: number[];
  /** Counts of the sample in equal-width bins over [min, max]. */
  histogram: { edges: number[]; counts: number[] };
}

export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  /** Count of each value (booleans as "true"/"false"); values past `maxCategories` distinct ones are counted in `other`. */
  counts: Record<string, number>;
  other: number;
}

export interface TextProfile {
  kind: 'text';
  count: number;
  missing: number;
  /** Words per row. */
  length: NumericProfile;
  /** Word counts: the most frequent `maxCategories` words, the rest summed in `other`. */
  tokens: { total: number; vocabulary: number; top: Record<string, number>; other: number };
}

export interface ImageProfile {
  kind: 'image';
  count: number;
  missing: number;
  /** [h, w, c] when the column declares it. */
  shape?: number[];
  /** Every pixel of every image, per channel. */
  channels: { mean: number; std: number; min: number; max: number }[];
  /** Each image's mean per channel: the numbers image drift is tested on. */
  imageMeans: NumericProfile[];
}

export interface SkippedProfile {
  kind: 'skipped';
  reason: string;
}

export type ColumnProfile = NumericProfile | CategoricalProfile | TextProfile | ImageProfile | SkippedProfile;

export const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** Welford's running mean and variance with min and max. */
class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  add(v: number): void {
    this.n++;
    const d = v - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
  get std(): number {
    return this.n > 0 ? Math.sqrt(this.m2 / this.n) : 0;
  }
}

export class NumericSketch {
  private readonly moments = new Moments();
  private readonly sample: number[] = [];
  private missing = 0;
  constructor(
    private readonly sampleSize: number,
    private readonly rng: Rng,
    private readonly bins = 20,
  ) {}

  add(v: unknown): void {
    if (isMissing(v)) {
      this.missing++;
      return;
    }
    const x = typeof v === 'boolean' ? Number(v) : Number(v);
    if (!Number.isFinite(x)) {
      this.missing++;
      return;
    }
    this.moments.add(x);
    // Algorithm R: after n values each one is in the sample with probability k / n.
    if (this.sample.length < this.sampleSize) this.sample.push(x);
    else {
      const j = this.rng.int(this.moments.n);
      if (j < this.sampleSize) this.sample[j] = x;
    }
  }

  finish(): NumericProfile {
    const m = this.moments;
    const lo = m.n ? m.min : 0;
    const hi = m.n ? m.max : 0;
    const edges = lo === hi ? [lo - 0.5, hi + 0.5] : equalEdges(lo, hi, this.bins);
    return {
      kind: 'numeric',
      count: m.n,
      missing: this.missing,
      mean: m.n ? m.mean : Number.NaN,
      std: m.std,
      min: lo,
      max: hi,
      sample: this.sample,
      histogram: { edges, counts: histogram(this.sample, edges) },
    };
  }
}

export class CategoricalSketch {
  private readonly counts = new Map<string, number>();
  private other = 0;
  private n = 0;
  private missing = 0;
  constructor(private readonly maxCategories: number) {}

  add(v: unknown): void {
    if (isMissing(v)) {
      this.missing++;
      return;
    }
    this.n++;
    const key = String(v);
    const c = this.counts.get(key);
    if (c !== undefined) this.counts.set(key, c + 1);
    else if (this.counts.size < this.maxCategories) this.counts.set(key, 1);
    else this.other++;
  }

  finish(): CategoricalProfile {
    return { kind: 'categorical', count: this.n, missing: this.missing, counts: Object.fromEntries(this.counts), other: this.other };
  }
}

/** Words as the `tokenize` transform's default `split: word` sees them: lower-cased letters, digits and apostrophes. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

export class TextSketch {
  private readonly length: NumericSketch;
  private readonly tokens = new Map<string, number>();
  private total = 0;
  private n = 0;
  private missing = 0;
  constructor(
    sampleSize: number,
    rng: Rng,
    private readonly maxTokens: number,
  ) {
    this.length = new NumericSketch(sampleSize, rng);
  }

  add(v: unknown): void {
    if (isMissing(v)) {
      this.missing++;
      return;
    }
    this.n++;
    const ws = words(String(v));
    this.length.add(ws.length);
    for (const w of ws) this.tokens.set(w, (this.tokens.get(w) ?? 0) + 1);
    this.total += ws.length;
  }

  finish(): TextProfile {
    const ranked = [...this.tokens].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = ranked.slice(0, this.maxTokens);
    const kept = top.reduce((s, [, c]) => s + c, 0);
    return {
      kind: 'text',
      count: this.n,
      missing: this.missing,
      length: this.length.finish(),
      tokens: { total: this.total, vocabulary: this.tokens.size, top: Object.fromEntries(top), other: this.total - kept },
    };
  }
}

/** Pixels of an image cell: a typed array, a plain array, or a typed array that went through JSON (`{"0": .., "1": ..}`). */
export function pixels(v: unknown): ArrayLike<number> | undefined {
  if (v instanceof Float32Array || v instanceof Uint8Array || v instanceof Float64Array) return v;
  if (Array.isArray(v)) return v.flat(3) as number[];
  if (v && typeof v === 'object') return Object.values(v as Record<string, number>);
  return undefined;
}

export class ImageSketch {
  private readonly channels: Moments[];
  private readonly means: NumericSketch[];
  private n = 0;
  private missing = 0;
  constructor(
    private readonly shape: number[] | undefined,
    sampleSize: number,
    rng: Rng,
  ) {
    const c = shape?.[2] ?? 1;
    this.channels = Array.from({ length: c }, () => new Moments());
    this.means = Array.from({ length: c }, () => new NumericSketch(sampleSize, rng));
  }

  add(v: unknown): void {
    const px = isMissing(v) ? undefined : pixels(v);
    if (!px || px.length === 0) {
      this.missing++;
      return;
    }
    this.n++;
    const c = this.channels.length;
    const sums = new Float64Array(c);
    for (let i = 0; i < px.length; i++) {
      const x = Number(px[i]);
      this.channels[i % c]!.add(x);
      sums[i % c]! += x;
    }
    for (let k = 0; k < c; k++) this.means[k]!.add(sums[k]! / (px.length / c));
  }

  finish(): ImageProfile {
    return {
      kind: 'image',
      count: this.n,
      missing: this.missing,
      ...(this.shape ? { shape: this.shape } : {}),
      channels: this.channels.map((m) => ({ mean: m.mean, std: m.std, min: m.min, max: m.max })),
      imageMeans: this.means.map((s) => s.finish()),
    };
  }
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const fixtures = join(dirname(createRequire(import.meta.url).resolve('sentiment/package.json')), 'test', 'fixtures');

/** The labelled sentences of the `sentiment` package's test fixtures (class 1 = positive). */
export function sentences(source: 'imdb' | 'amazon' | 'yelp'): { text: string; label: number }[] {
  const rows = JSON.parse(readFileSync(join(fixtures, `${source}.json`), 'utf8')) as { text: string; class: number }[];
  return rows.map((r) => ({ text: r.text, label: r.class }));
}

const words = (s: string) => s.toLowerCase().match(/[a-z']+/g) ?? [];

/** Word ids: 0 = padding, 1 = unknown, then the `size - 2` most frequent words of `texts`. */
export function vocabulary(texts: string[], size: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of words(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, size - 2);
  return new Map(top.map(([w], i) => [w, i + 2]));
}

/** Token ids [n * maxLen] (truncated, zero-padded) and labels. */
export function encode(rows: { text: string; label: number }[], vocab: Map<string, number>, maxLen: number): { x: Int32Array; y: Float32Array } {
  const x = new Int32Array(rows.length * maxLen);
  rows.forEach((r, i) => {
    words(r.text)
      .slice(0, maxLen)
      .forEach((w, j) => {
        x[i * maxLen + j] = vocab.get(w) ?? 1;
      });
  });
  return { x, y: Float32Array.from(rows, (r) => r.label) };
}

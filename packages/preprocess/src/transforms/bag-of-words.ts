import { z } from 'zod';
import { Counter } from '../_stats.js';
import { checkTextColumns, textFields, textOf, tokenizeText } from '../_text.js';
import type { Column } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, requireFitted } from '../transform.js';

export const bagOfWordsSchema = z
  .object({
    type: z.literal('bag-of-words'),
    ...columnFields,
    ...textFields,
    maxVocab: z.number().int().min(1).default(1000).describe('Keep the most frequent tokens of the training split (ties: alphabetical).'),
    mode: z
      .enum(['count', 'binary', 'tfidf'])
      .default('count')
      .describe('count: term counts; binary: 1 if present; tfidf: count * (ln((1 + n) / (1 + df)) + 1), scikit-learn smooth idf.'),
    norm: z.enum(['none', 'l2']).default('none').describe('Scale each row vector to unit L2 length (scikit-learn TfidfVectorizer uses l2).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Turns text into a float vector [vocabulary size]; vocabulary sorted alphabetically, unknown words ignored.');

export type BagOfWordsConfig = z.output<typeof bagOfWordsSchema>;
type State = Record<string, { vocab: string[]; idf: number[] }>;

export const bagOfWords: TransformEntry<BagOfWordsConfig> = {
  type: 'bag-of-words',
  schema: bagOfWordsSchema,
  description: 'Bag-of-words counts or TF-IDF.',
  create(config): Transform {
    const names = columnList(config);
    let fitted: State | undefined;
    let ids: Map<string, Map<string, number>> | undefined;
    const index = () => {
      ids = new Map(Object.entries(fitted!).map(([n, s]) => [n, new Map(s.vocab.map((t, i) => [t, i]))]));
    };
    return {
      type: 'bag-of-words',
      columns: names,
      needsFit: () => fitted === undefined,
      fitter() {
        // One pass: total counts pick the vocabulary, document frequencies give the idf.
        const total = new Map(names.map((n) => [n, new Counter()]));
        const docs = new Map(names.map((n) => [n, new Counter()]));
        let n = 0;
        return {
          update(row) {
            n++;
            for (const name of names) {
              const tokens = tokenizeText(textOf('bag-of-words', name, row[name]), config);
              const t = total.get(name)!;
              for (const tok of tokens) t.add(tok);
              const d = docs.get(name)!;
              for (const tok of new Set(tokens)) d.add(tok);
            }
          },
          finish() {
            const out: State = {};
            for (const name of names) {
              const vocab = total.get(name)!.top(config.maxVocab, config.minCount).sort();
              const df = docs.get(name)!.counts;
              out[name] = { vocab, idf: vocab.map((tok) => Math.log((1 + n) / (1 + (df.get(tok) ?? 0))) + 1) };
            }
            fitted = out;
            index();
          },
        };
      },
      outputColumns(columns, path, issues): Column[] {
        checkTextColumns('bag-of-words', names, columns, path, issues);
        return columns.map((c) => (names.includes(c.name) ? { name: c.name, kind: 'vector', shape: [fitted ? fitted[c.name]!.vocab.length : -1] } : c));
      },
      apply(row) {
        requireFitted(ids !== undefined, 'bag-of-words');
        for (const name of names) {
          const map = ids!.get(name)!;
          const out = new Float32Array(map.size);
          for (const tok of tokenizeText(textOf('bag-of-words', name, row[name]), config)) {
            const i = map.get(tok);
            if (i !== undefined) out[i] = config.mode === 'binary' ? 1 : out[i]! + 1;
          }
          if (config.mode === 'tfidf') {
            const idf = fitted![name]!.idf;
            for (let i = 0; i < out.length; i++) out[i] = out[i]! * idf[i]!;
          }
          if (config.norm === 'l2') {
            let ss = 0;
            for (let i = 0; i < out.length; i++) ss += out[i]! * out[i]!;
            if (ss > 0) {
              const inv = 1 / Math.sqrt(ss);
              for (let i = 0; i < out.length; i++) out[i] = out[i]! * inv;
            }
          }
          row[name] = out;
        }
      },
      state: () => ({ fitted }),
      load(state) {
        fitted = (state as { fitted?: State }).fitted;
        if (fitted) index();
      },
    };
  },
};

import { z } from 'zod';
import { Counter } from '../_stats.js';
import { checkTextColumns, textFields, textOf, tokenizeText } from '../_text.js';
import type { Column } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, requireFitted } from '../transform.js';

/** Id 0 pads, id 1 is the unknown token; vocabulary tokens start at 2. */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;

export const tokenizeSchema = z
  .object({
    type: z.literal('tokenize'),
    ...columnFields,
    ...textFields,
    maxLength: z.number().int().min(1).default(100).describe('Sequence length after padding / truncation.'),
    padding: z.enum(['post', 'pre']).default('post').describe('Pad short sequences at the end (post) or the start (pre).'),
    truncating: z.enum(['post', 'pre']).default('post').describe('Cut long sequences at the end (post) or the start (pre).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Learns a vocabulary on the training split and turns text into int token ids [maxLength] (0 pad, 1 unknown).');

export type TokenizeConfig = z.output<typeof tokenizeSchema>;

export const tokenize: TransformEntry<TokenizeConfig> = {
  type: 'tokenize',
  schema: tokenizeSchema,
  description: 'Vocabulary + tokenizer: text to padded integer sequences.',
  create(config): Transform {
    const names = columnList(config);
    let vocab: Record<string, string[]> | undefined;
    let ids: Map<string, Map<string, number>> | undefined;
    const index = () => {
      ids = new Map(Object.entries(vocab!).map(([n, list]) => [n, new Map(list.map((t, i) => [t, i + 2]))]));
    };
    return {
      type: 'tokenize',
      columns: names,
      needsFit: () => vocab === undefined,
      fitter() {
        const counts = new Map(names.map((n) => [n, new Counter()]));
        return {
          update(row) {
            for (const n of names) {
              const c = counts.get(n)!;
              for (const t of tokenizeText(textOf('tokenize', n, row[n]), config)) c.add(t);
            }
          },
          finish() {
            vocab = Object.fromEntries(names.map((n) => [n, counts.get(n)!.top(config.maxVocab, config.minCount)]));
            index();
          },
        };
      },
      outputColumns(columns, path, issues): Column[] {
        checkTextColumns('tokenize', names, columns, path, issues);
        return columns.map((c) => {
          if (!names.includes(c.name)) return c;
          const out: Column = { name: c.name, kind: 'vector', shape: [config.maxLength], dtype: 'int32' };
          if (vocab) out.vocabSize = vocab[c.name]!.length + 2;
          return out;
        });
      },
      apply(row) {
        requireFitted(ids !== undefined, 'tokenize');
        const L = config.maxLength;
        for (const n of names) {
          const map = ids!.get(n)!;
          let tokens = tokenizeText(textOf('tokenize', n, row[n]), config);
          if (tokens.length > L) tokens = config.truncating === 'post' ? tokens.slice(0, L) : tokens.slice(tokens.length - L);
          const out = new Float32Array(L); // zeros are padding
          const start = config.padding === 'post' ? 0 : L - tokens.length;
          for (let i = 0; i < tokens.length; i++) out[start + i] = map.get(tokens[i]!) ?? UNKNOWN_ID;
          row[n] = out;
        }
      },
      state: () => ({ vocab }),
      load(state) {
        vocab = (state as { vocab?: Record<string, string[]> }).vocab;
        if (vocab) index();
      },
    };
  },
};

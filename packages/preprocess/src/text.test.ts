import type { Row } from '@tfpipe/data';
import { describe, expect, it } from 'vitest';
import { tokenizeText } from './_text.js';
import { Preprocessor } from './preprocessor.js';

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

const DOCS: Row[] = [{ t: 'The cat sat.' }, { t: 'The dog sat!' }, { t: "The cat's hat" }];

describe('tokenizeText', () => {
  it('word drops punctuation and keeps apostrophes; whitespace and char split as named', () => {
    expect(tokenizeText("The cat's HAT, sat!", { lowercase: true, split: 'word' })).toEqual(['the', "cat's", 'hat', 'sat']);
    expect(tokenizeText(' a  B,c ', { lowercase: false, split: 'whitespace' })).toEqual(['a', 'B,c']);
    expect(tokenizeText('Ab', { lowercase: true, split: 'char' })).toEqual(['a', 'b']);
  });
});

describe('tokenize', () => {
  it('ids by frequency then alphabet (0 pad, 1 unknown), pads and truncates, reports vocabSize', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'tokenize', column: 't', maxLength: 4 }]);
    await pre.fit(source(DOCS));
    // counts: the 3, sat 2, cat 1, cat's 1, dog 1, hat 1 → ids the 2, sat 3, cat 4, cat's 5, dog 6, hat 7
    expect(Array.from(pre.transform({ t: 'the dog' }).t as Float32Array)).toEqual([2, 6, 0, 0]);
    expect(Array.from(pre.transform({ t: 'sat on the big hat cat' }).t as Float32Array)).toEqual([3, 1, 2, 1]);
    expect(pre.outputColumns([{ name: 't', kind: 'string' }])).toEqual([{ name: 't', kind: 'vector', shape: [4], dtype: 'int32', vocabSize: 8 }]);
  });

  it('pre padding / pre truncating keep the end of the text; maxVocab and minCount cut the vocabulary', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'tokenize', column: 't', maxLength: 3, padding: 'pre', truncating: 'pre', maxVocab: 2 }]);
    await pre.fit(source(DOCS));
    expect(Array.from(pre.transform({ t: 'sat' }).t as Float32Array)).toEqual([0, 0, 3]);
    expect(Array.from(pre.transform({ t: 'a b the cat sat' }).t as Float32Array)).toEqual([2, 1, 3]);
    const min2 = Preprocessor.fromConfig([{ type: 'tokenize', column: 't', minCount: 2 }]);
    await min2.fit(source(DOCS));
    expect(min2.outputColumns([{ name: 't', kind: 'string' }])[0]!.vocabSize).toBe(4);
  });

  it('refuses missing text with a hint to impute', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'tokenize', column: 't' }]);
    await expect(pre.fit(source([{ t: null }]))).rejects.toMatchObject({ code: 'E_DATA' });
  });
});

describe('bag-of-words', () => {
  const docs: Row[] = [{ t: 'a b' }, { t: 'a c c' }, { t: 'a' }];

  it('counts and binary over an alphabetical vocabulary; unknown words are ignored', async () => {
    const counts = Preprocessor.fromConfig([{ type: 'bag-of-words', column: 't' }]);
    await counts.fit(source(docs));
    expect(Array.from(counts.transform({ t: 'c a c zebra' }).t as Float32Array)).toEqual([1, 0, 2]);
    const binary = Preprocessor.fromConfig([{ type: 'bag-of-words', column: 't', mode: 'binary' }]);
    await binary.fit(source(docs));
    expect(Array.from(binary.transform({ t: 'c a c' }).t as Float32Array)).toEqual([1, 0, 1]);
  });

  it('tfidf with smooth idf and l2 norm matches the hand-computed scikit-learn formula', async () => {
    const pre = Preprocessor.fromConfig([{ type: 'bag-of-words', column: 't', mode: 'tfidf', norm: 'l2' }]);
    await pre.fit(source(docs));
    // n = 3; df: a 3, b 1, c 1 → idf a = ln(4/4)+1 = 1, b = c = ln(4/2)+1
    const idfB = Math.log(2) + 1;
    const raw = [1, 0, 2 * idfB]; // "a c c"
    const norm = Math.hypot(...raw);
    const out = Array.from(pre.transform({ t: 'a c c' }).t as Float32Array);
    for (const [i, v] of raw.entries()) expect(out[i]).toBeCloseTo(v / norm, 6);
    expect(pre.outputColumns([{ name: 't', kind: 'string' }])).toEqual([{ name: 't', kind: 'vector', shape: [3] }]);
  });
});

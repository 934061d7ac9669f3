import { createHmac } from 'node:crypto';
import type { Row } from '@tfpipe/data';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Preprocessor } from './preprocessor.js';

const source = (rows: Row[]) => () =>
  (async function* () {
    yield* rows;
  })();

const KEY = 'TFPIPE_TEST_HASH_KEY';

describe('anonymizing transforms', () => {
  beforeEach(() => {
    process.env[KEY] = 'a-test-secret';
  });
  afterEach(() => {
    delete process.env[KEY];
  });

  it('drop removes the columns from rows and from the column list', () => {
    const pre = Preprocessor.fromConfig([{ type: 'drop', columns: ['name', 'email'] }]);
    expect(pre.outputColumns([{ name: 'name', kind: 'string' }, { name: 'email', kind: 'string' }, { name: 'age', kind: 'number' }]).map((c) => c.name)).toEqual(['age']);
    expect(pre.transform({ name: 'Ada Lovelace', email: 'ada@example.org', age: 36 })).toEqual({ age: 36 });
  });

  it('hash is a keyed HMAC-SHA-256: stable, equal to the reference digest, and bucketed on request', () => {
    const pre = Preprocessor.fromConfig([{ type: 'hash', column: 'patient', keyEnv: KEY }]);
    const expected = createHmac('sha256', 'a-test-secret').update('P-001').digest().subarray(0, 8).toString('hex');
    expect(pre.transform({ patient: 'P-001' }).patient).toBe(expected);
    expect(pre.transform({ patient: 'P-002' }).patient).not.toBe(expected);
    expect(pre.transform({ patient: null }).patient).toBeNull();
    const b = Preprocessor.fromConfig([{ type: 'hash', column: 'patient', keyEnv: KEY, buckets: 50 }]);
    const v = b.transform({ patient: 'P-001' }).patient as number;
    expect(Number.isInteger(v) && v >= 0 && v < 50).toBe(true);
    expect(b.outputColumns([{ name: 'patient', kind: 'string' }])[0]).toMatchObject({ kind: 'number', vocabSize: 50 });
    // Another key gives other pseudonyms; the key is nowhere in the saved state.
    process.env[KEY] = 'another-secret';
    expect(Preprocessor.fromConfig([{ type: 'hash', column: 'patient', keyEnv: KEY }]).transform({ patient: 'P-001' }).patient).not.toBe(expected);
    expect(JSON.stringify(pre.toJSON())).not.toContain('secret');
  });

  it('hash without its key is a config error at the transform, naming the variable', () => {
    delete process.env[KEY];
    let err: unknown;
    try {
      Preprocessor.fromConfig([{ type: 'hash', column: 'patient', keyEnv: KEY }]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_CONFIG' });
    expect((err as Error).message).toContain(KEY);
    expect((err as { issues: { path: unknown[] }[] }).issues[0]!.path).toEqual(['preprocess', 0, 'keyEnv']);
  });

  it('generalize: number bins, dates to month/year, postcode prefixes', () => {
    const pre = Preprocessor.fromConfig([
      { type: 'generalize', column: 'age', bins: [18, 30, 50] },
      { type: 'generalize', column: 'born', date: 'month' },
      { type: 'generalize', column: 'zip', keepPrefix: 3 },
    ]);
    expect(pre.transform({ age: 37, born: '1988-04-17', zip: 'SW1A 1AA' })).toEqual({ age: '[30, 50)', born: '1988-04', zip: 'SW1*' });
    expect(pre.transform({ age: 12, born: '2001-01-01T10:00:00Z', zip: 'N1' })).toEqual({ age: '< 18', born: '2001-01', zip: 'N1' });
    expect(pre.transform({ age: 50, born: null, zip: null }).age).toBe('>= 50');
    expect(() => Preprocessor.fromConfig([{ type: 'generalize', column: 'age', bins: [3, 2] }])).toThrow(/strictly ascending/);
    expect(() => Preprocessor.fromConfig([{ type: 'generalize', column: 'age' }])).toThrow(/exactly one of bins, date or keepPrefix/);
  });

  it('redact replaces e-mails, phone numbers, URLs and custom patterns inside text', () => {
    const pre = Preprocessor.fromConfig([
      { type: 'redact', column: 'note', custom: [{ name: 'mrn', regex: 'MRN-\\d{6}' }] },
    ]);
    const out = pre.transform({
      note: 'Call Ada on +44 20 7946 0958 or 020-7946-0958, mail ada.l@example.co.uk, see https://x.example/p?id=7, record MRN-123456.',
    }).note as string;
    expect(out).toBe('Call Ada on [PHONE] or [PHONE], mail [EMAIL], see [URL] record [MRN].');
    // Ordinary numbers are kept (a year, a short count).
    expect(pre.transform({ note: 'In 2023 we saw 12 patients' }).note).toBe('In 2023 we saw 12 patients');
    expect(() => Preprocessor.fromConfig([{ type: 'redact', column: 'note', custom: [{ name: 'bad', regex: '(' }] }])).toThrow(/preprocess\[0\]\.custom\[0\]\.regex: invalid regular expression/);
  });

  it('k-anonymity fails the fit below k, naming group sizes but no values, and passes at k', async () => {
    const rows: Row[] = [
      { age: 31, zip: 'SW1A 1AA' },
      { age: 35, zip: 'SW1B 2BB' },
      { age: 44, zip: 'SW1C 3CC' },
      { age: 47, zip: 'N1 9GU' },
    ];
    const coarse = (k: number) =>
      Preprocessor.fromConfig([
        { type: 'generalize', column: 'age', bins: [30, 40, 50] },
        { type: 'generalize', column: 'zip', keepPrefix: 3 },
        { type: 'k-anonymity', columns: ['age', 'zip'], k },
      ]);
    const fails = coarse(2);
    const err = await fails.fit(source(rows)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/smallest group of the training split has 1 row\(s\); at least k = 2/);
    for (const raw of ['SW1', 'N1 ', '47', 'SW1A']) expect(err?.message).not.toContain(raw);
    const ok = Preprocessor.fromConfig([
      { type: 'generalize', column: 'age', bins: [30, 50] },
      { type: 'generalize', column: 'zip', keepPrefix: 2 },
      { type: 'drop', column: 'zip' },
    ]);
    await ok.fit(source(rows));
    const pass = Preprocessor.fromConfig([
      { type: 'generalize', column: 'age', bins: [30, 50] },
      { type: 'k-anonymity', columns: ['age'], k: 4 },
    ]);
    await pass.fit(source(rows));
    expect(pass.toJSON().transforms[1]!.state).toEqual({ k: 4, rows: 4, groups: 1, smallestGroup: 4, groupsBelowK: 0 });
  });
});

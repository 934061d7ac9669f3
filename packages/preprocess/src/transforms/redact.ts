import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { kindIssue } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, isMissing } from '../transform.js';

/** Built-in patterns. Deliberately broad: a false positive costs a token, a false negative leaks a person. */
export const REDACT_PATTERNS = {
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  // Phone numbers: an optional +country code, then 7+ digits with spaces, dots, dashes or parentheses between.
  phone: /(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,}/g,
  url: /\bhttps?:\/\/[^\s<>"']+/gi,
  ipv4: /\b(?:\d{1,3}\.){3}\d{1,3}\b/g,
  creditCard: /\b(?:\d[ -]?){13,19}\b/g,
} as const;

export type RedactPatternName = keyof typeof REDACT_PATTERNS;

export const redactSchema = z
  .object({
    type: z.literal('redact'),
    ...columnFields,
    patterns: z
      .array(z.enum(Object.keys(REDACT_PATTERNS) as [RedactPatternName, ...RedactPatternName[]]))
      .default(['email', 'phone', 'url'])
      .describe('Built-in patterns to replace inside the text.'),
    custom: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/).describe('Shown in the replacement, e.g. [PATIENT_ID].'),
            regex: z.string().min(1).describe('A JavaScript regular expression (data, not code); matched globally.'),
            flags: z.string().regex(/^[imsu]*$/).default('').describe('Extra flags: i, m, s, u (g is always on).'),
          })
          .strict(),
      )
      .default([])
      .describe('More patterns of your own (e.g. record numbers).'),
    replacement: z.string().default('[{name}]').describe('What a match becomes; {name} is the pattern name in upper case.'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Replaces e-mail addresses, phone numbers, URLs and patterns of your own inside text columns; nothing to fit.');

export type RedactConfig = z.output<typeof redactSchema>;

/** Compiles the configured patterns; custom ones first (they are the most specific). */
export function compileRedactions(config: Pick<RedactConfig, 'patterns' | 'custom' | 'replacement'>): Array<[RegExp, string]> {
  const out: Array<[RegExp, string]> = [];
  const label = (name: string) => config.replacement.replaceAll('{name}', name.toUpperCase());
  config.custom.forEach((c, i) => {
    try {
      out.push([new RegExp(c.regex, `g${c.flags}`), label(c.name)]);
    } catch (e) {
      throw new TfpipeError('E_CONFIG', `redact: custom[${i}].regex is not a valid regular expression: ${(e as Error).message}`, {
        issues: [{ path: ['custom', i, 'regex'], message: 'invalid regular expression', received: c.regex, expected: 'a JavaScript regular expression' }],
      });
    }
  });
  // Order matters: e-mails and URLs before phone numbers (their digits would otherwise be taken first).
  const order: RedactPatternName[] = ['email', 'url', 'creditCard', 'ipv4', 'phone'];
  for (const p of order) if (config.patterns.includes(p)) out.push([new RegExp(REDACT_PATTERNS[p].source, REDACT_PATTERNS[p].flags), label(p === 'creditCard' ? 'card' : p)]);
  return out;
}

export const redact: TransformEntry<RedactConfig> = {
  type: 'redact',
  schema: redactSchema,
  description: 'Redact personal data (e-mails, phones, URLs, custom patterns) inside text.',
  create(config): Transform {
    const names = columnList(config);
    const rules = compileRedactions(config);
    return {
      type: 'redact',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues) {
        for (const c of columns) if (names.includes(c.name) && c.kind !== 'string') issues.push(kindIssue(c, path, 'a string (text) column', 'redact'));
        return [...columns];
      },
      apply(row) {
        for (const n of names) {
          const v = row[n];
          if (isMissing(v) || typeof v !== 'string') continue;
          let s = v;
          for (const [re, rep] of rules) s = s.replace(re, rep);
          row[n] = s;
        }
      },
      state: () => ({}),
      load() {},
    };
  },
};

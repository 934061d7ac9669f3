import { createHmac } from 'node:crypto';
import { TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { kindIssue } from '../columns.js';
import { type Transform, type TransformEntry, columnFields, columnList, exactlyOneColumnField, isMissing } from '../transform.js';

export const hashSchema = z
  .object({
    type: z.literal('hash'),
    ...columnFields,
    keyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('TFPIPE_HASH_KEY')
      .describe('Name of the environment variable holding the HMAC key. The key itself is never in the config or the run directory.'),
    buckets: z
      .number()
      .int()
      .min(2)
      .optional()
      .describe('Map each digest to an integer bucket 0..buckets-1 (a number column with vocabSize buckets, e.g. for an embedding); default: a 16-hex-digit string (a category).'),
  })
  .strict()
  .superRefine(exactlyOneColumnField)
  .describe('Pseudonymizes a column with a keyed HMAC-SHA-256: equal values stay equal, the raw value is never kept. Missing values stay missing.');

export type HashConfig = z.output<typeof hashSchema>;

/** The key, read when the transform is built (so a missing key fails before any data is read). */
function keyFrom(env: string): Buffer {
  const key = process.env[env];
  if (!key) {
    throw new TfpipeError('E_CONFIG', `hash: the HMAC key environment variable ${env} is not set`, {
      issues: [{ path: ['keyEnv'], message: `environment variable ${env} is not set`, received: env, expected: 'a non-empty secret in the environment' }],
      hint: `export ${env}=<a long random secret> (the same one wherever the model is used: serve, predict); it is never written to the run directory.`,
    });
  }
  return Buffer.from(key, 'utf8');
}

export const hash: TransformEntry<HashConfig> = {
  type: 'hash',
  schema: hashSchema,
  description: 'Keyed HMAC-SHA-256 pseudonymization of identifiers.',
  create(config): Transform {
    const names = columnList(config);
    const key = keyFrom(config.keyEnv);
    const digest = (v: string) => createHmac('sha256', key).update(v, 'utf8').digest();
    return {
      type: 'hash',
      columns: names,
      needsFit: () => false,
      outputColumns(columns, path, issues) {
        return columns.map((c) => {
          if (!names.includes(c.name)) return c;
          if (c.kind !== 'string' && c.kind !== 'number' && c.kind !== 'boolean') {
            issues.push(kindIssue(c, path, 'a string, number or boolean column', 'hash'));
            return c;
          }
          return config.buckets ? { name: c.name, kind: 'number' as const, vocabSize: config.buckets } : { name: c.name, kind: 'string' as const };
        });
      },
      apply(row) {
        for (const n of names) {
          const v = row[n];
          if (isMissing(v)) continue;
          const d = digest(String(v));
          row[n] = config.buckets ? d.readUIntBE(0, 6) % config.buckets : d.subarray(0, 8).toString('hex');
        }
      },
      state: () => ({}),
      load() {},
    };
  },
};

import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { type Issue, TfpipeError } from './errors.js';

function objectKeys(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Walks to the sub-schema at `path` (objects and arrays only), for did-you-mean on unknown keys. */
function schemaAt(schema: z.ZodType, path: PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const p of path) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable)
      s = s.unwrap() as z.ZodType;
    if (s instanceof z.ZodObject && typeof p === 'string') s = s.shape[p] as z.ZodType | undefined;
    else if (s instanceof z.ZodArray && typeof p === 'number') s = s.element as z.ZodType;
    else return undefined;
  }
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable)
    s = s.unwrap() as z.ZodType;
  return s;
}

/**
 * A zod error as tfpipe Issues: the config path prefixed, the value received, what is allowed (enums,
 * types), and each unknown key on its own line with the known ones and a did-you-mean. Every package that
 * parses a config section with zod reports through this, so its errors read the same. `input` (what was
 * parsed) gives the value received where zod's issue does not carry it (a bad enum value).
 */
export function zodIssues(error: z.ZodError, schema: z.ZodType, prefix: readonly (string | number)[], input?: unknown): Issue[] {
  const out: Issue[] = [];
  for (const issue of error.issues) {
    const rel = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = objectKeys(schemaAt(schema, rel) ?? z.never());
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        out.push({
          path: [...prefix, ...rel, key],
          message: 'unknown option',
          received: key,
          expected: known.join(', '),
          ...(suggestion ? { suggestion } : {}),
        });
      }
      continue;
    }
    const expected =
      issue.code === 'invalid_value'
        ? issue.values.map((v) => JSON.stringify(v)).join(' | ')
        : issue.code === 'invalid_type'
          ? issue.expected
          : undefined;
    out.push({
      path: [...prefix, ...rel],
      message: issue.message,
      ...receivedOf(issue, rel, input),
      ...(expected ? { expected } : {}),
    });
  }
  return out;
}


/** Parses one config section with its schema; its problems, all at once, become one E_CONFIG error under `path`. */
export function parseSection<S extends z.ZodType>(schema: S, input: unknown, path: readonly (string | number)[]): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw TfpipeError.fromIssues(zodIssues(r.error, schema, path, input));
  return r.data;
}

function receivedOf(issue: z.core.$ZodIssue, rel: (string | number)[], input: unknown): { received?: unknown } {
  if ('input' in issue && issue.input !== undefined) return { received: issue.input };
  let v = input;
  for (const p of rel) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v === undefined ? {} : { received: v };
}

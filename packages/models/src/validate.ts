import { didYouMean, type Issue, isTfpipeError, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import type { ModelRegistry } from './_common.js';
import type { ModelBuilder } from './builder.js';

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

/** zod issues as tfpipe Issues, with the config path prefixed and did-you-mean on unknown keys. */
export function zodIssues(error: z.ZodError, schema: z.ZodType, prefix: (string | number)[]): Issue[] {
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
      ...('input' in issue && issue.input !== undefined ? { received: issue.input } : {}),
      ...(expected ? { expected } : {}),
    });
  }
  return out;
}

/** The registry entry for a raw config and the config parsed (defaults filled) by its schema; E_CONFIG otherwise. */
export function parseEntryConfig(
  raw: unknown,
  registry: ModelRegistry,
  path: (string | number)[],
): { entry: ModelBuilder; config: unknown } {
  const type = (raw as { type?: unknown } | null | undefined)?.type;
  if (typeof type !== 'string') {
    throw TfpipeError.fromIssues([
      {
        path: [...path, 'type'],
        message: 'a model needs a type',
        received: type,
        expected: registry
          .types()
          .map((t) => JSON.stringify(t))
          .join(' | '),
      },
    ]);
  }
  const entry = registry.get(type, [...path, 'type']);
  const parsed = entry.schema.safeParse(raw);
  if (!parsed.success) throw TfpipeError.fromIssues(zodIssues(parsed.error, entry.schema, path));
  return { entry, config: parsed.data };
}

/**
 * Validates a model config without making any tensor: the entry's schema (defaults filled), then its own
 * checks (fusion validates each encoder). Returns every issue found.
 */
export function validateModelConfig(
  raw: unknown,
  opts: { registry: ModelRegistry; path?: (string | number)[] },
): { config?: unknown; issues: Issue[]; error?: TfpipeError } {
  const path = opts.path ?? ['model'];
  try {
    const { entry, config } = parseEntryConfig(raw, opts.registry, path);
    const issues = entry.validate?.(config, { registry: opts.registry, path }) ?? [];
    return issues.length ? { issues } : { config, issues };
  } catch (e) {
    if (isTfpipeError(e) && e.issues.length) return { issues: e.issues, error: e };
    throw e;
  }
}

import { type Issue, isTfpipeError, TfpipeError, parseSection, } from '@tfpipe/core';
import type { ModelRegistry } from './_common.js';
import type { ModelBuilder } from './builder.js';

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
  return { entry, config: parseSection(entry.schema, raw, path) };
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

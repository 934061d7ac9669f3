import { createRegistry, parseSection, silentLogger, TfpipeError } from '@tfpipe/core';
import type { Logger } from '@tfpipe/core';
import { z } from 'zod';
import type { SourceEntry, SourceRegistry } from './source.js';
import { arraysSource, arraysSourceSchema } from './sources/arrays.js';
import { csvSource, csvSourceSchema, tsvSource, tsvSourceSchema } from './sources/csv.js';
import { idxSource, idxSourceSchema } from './sources/idx.js';
import { imagesSource, imagesSourceSchema } from './sources/images.js';
import { jsonlSource, jsonlSourceSchema, jsonSource, jsonSourceSchema } from './sources/json.js';
import { textSource, textSourceSchema } from './sources/text.js';
import type { DataSource } from './types.js';

/** `data.source`: one of the built-in source types, discriminated on `type`. */
export const sourceSchema = z
  .discriminatedUnion('type', [
    csvSourceSchema,
    tsvSourceSchema,
    jsonlSourceSchema,
    jsonSourceSchema,
    idxSourceSchema,
    imagesSourceSchema,
    textSourceSchema,
    arraysSourceSchema,
  ])
  .describe('Where rows come from');

export type SourceConfig = z.input<typeof sourceSchema>;

/** A fresh registry holding the built-in sources; register your own `{ type, schema, open }` on it. */
export function createSourceRegistry(): SourceRegistry {
  const builtins: SourceEntry[] = [csvSource, tsvSource, jsonlSource, jsonSource, idxSource, imagesSource, textSource, arraysSource];
  return createRegistry<SourceEntry>('data source', builtins);
}

export interface OpenSourceOptions {
  /** Folder that relative paths are relative to (the config file's folder). */
  baseDir: string;
  logger?: Logger;
  /** Default: `createSourceRegistry()`. */
  registry?: SourceRegistry;
  /** Config path of this block, for messages; default ['data', 'source']. */
  path?: (string | number)[];
}

/** Validates `config` against its type's schema (filling defaults) and opens the source. */
export async function openSource(config: SourceConfig | Record<string, unknown>, options: OpenSourceOptions): Promise<DataSource> {
  const reg = options.registry ?? createSourceRegistry();
  const path = options.path ?? ['data', 'source'];
  const type = (config as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') {
    throw TfpipeError.fromIssues([{ path: [...path, 'type'], message: 'a source needs a type', received: type, expected: reg.types().map((t) => JSON.stringify(t)).join(' | ') }]);
  }
  const entry = reg.get(type, [...path, 'type']);
  const parsed = parseSection(entry.schema, config, path);
  return entry.open(parsed, { baseDir: options.baseDir, logger: options.logger ?? silentLogger, path });
}

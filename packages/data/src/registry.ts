import { createRegistry, parseSection, registrySchema, silentLogger, TfpipeError } from '@tfpipe/core';
import type { Logger } from '@tfpipe/core';
import type { z } from 'zod';
import type { SourceEntry, SourceRegistry } from './source.js';
import { arraysSource } from './sources/arrays.js';
import { csvSource, tsvSource } from './sources/csv.js';
import { idxSource } from './sources/idx.js';
import { imagesSource } from './sources/images.js';
import { jsonlSource, jsonSource } from './sources/json.js';
import { textSource } from './sources/text.js';
import type { ReadProgressListener } from './progress.js';
import type { DataSource } from './types.js';


/** A fresh registry holding the built-in sources; register your own `{ type, schema, open }` on it. */
export function createSourceRegistry(): SourceRegistry {
  const builtins: SourceEntry[] = [csvSource, tsvSource, jsonlSource, jsonSource, idxSource, imagesSource, textSource, arraysSource];
  return createRegistry<SourceEntry>('data source', builtins);
}

/** The `data.source` schema of a registry: a union discriminated on `type` over every registered source. */
export function sourceSchemaFor(registry: SourceRegistry) {
  return registrySchema(registry, 'Where rows come from');
}

/** `data.source` for the built-in source types (what `createSourceRegistry()` holds). */
export const sourceSchema = sourceSchemaFor(createSourceRegistry());

export interface OpenSourceOptions {
  /** Folder that relative paths are relative to (the config file's folder). */
  baseDir: string;
  logger?: Logger;
  /** Default: `createSourceRegistry()`. */
  registry?: SourceRegistry;
  /** Config path of this block, for messages; default ['data', 'source']. */
  path?: (string | number)[];
  /** Progress of each pass over the data: rows, bytes of the file, seconds. */
  onProgress?: ReadProgressListener;
}

export type SourceConfig = z.input<typeof sourceSchema>;

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
  return entry.open(parsed, { baseDir: options.baseDir, logger: options.logger ?? silentLogger, path, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
}

import { createRegistry, didYouMean, silentLogger, TfpipeError } from '@tfpipe/core';
import type { Issue, Logger } from '@tfpipe/core';
import { z } from 'zod';
import type { SourceEntry, SourceRegistry } from './source.js';
import { arraysSource, arraysSourceSchema } from './sources/arrays.js';
import { csvSource, csvSourceSchema, tsvSource, tsvSourceSchema } from './sources/csv.js';
import { idxSource, idxSourceSchema } from './sources/idx.js';
import { imagesSource, imagesSourceSchema } from './sources/images.js';
import { jsonlSource, jsonlSourceSchema, jsonSource, jsonSourceSchema } from './sources/json.js';
import { textSource, textSourceSchema } from './sources/text.js';
import type { ReadProgressListener } from './progress.js';
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
  /** Progress of each pass over the data: rows, bytes of the file, seconds. */
  onProgress?: ReadProgressListener;
}

function knownKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
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
  const parsed = entry.schema.safeParse(config);
  if (!parsed.success) {
    throw TfpipeError.fromIssues(
      parsed.error.issues.flatMap((i): Issue[] => {
        const at = [...path, ...(i.path as (string | number)[])];
        if (i.code === 'unrecognized_keys') {
          return i.keys.map((k) => {
            const suggestion = didYouMean(k, knownKeys(entry.schema));
            return { path: [...at, k], message: 'unknown option', expected: knownKeys(entry.schema).join(', '), ...(suggestion ? { suggestion } : {}) };
          });
        }
        return [{ path: at, message: i.message, received: i.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], config) }];
      }),
    );
  }
  return entry.open(parsed.data, { baseDir: options.baseDir, logger: options.logger ?? silentLogger, path, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
}

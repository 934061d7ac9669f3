/**
 * What travels through Redis, checked on arrival. Nothing read from Redis (a job a worker takes, a sweep id in
 * the sweeps set, a result or an artifact manifest the coordinator collects) is trusted: ids become parts of
 * file paths only after they match a strict pattern, and an artifact's file paths must stay inside the folder
 * they are written to.
 */
import { TfpipeError, formatPath } from '@tfpipe/core';
import { z } from 'zod';
import { isS3Location } from './chunk-store.js';
import type { Trial, TrialResult } from './types.js';

/** Ids that name folders, queues and keys: letters, digits, `.`, `_`, `-`; no `..`; at most 128 characters. */
export const SAFE_ID = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const safeIdSchema = z.string().regex(SAFE_ID, 'expected letters, digits, ".", "_" or "-" (no "..", at most 128 characters)');

/** One segment of a relative path: no `.`/`..`, no separator, no control character. */
const SEGMENT = /^(?!\.{1,2}$)[^/\\]{1,255}$/;
const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20);

/** A relative POSIX path that cannot leave the folder it is joined to. */
export const relativePathSchema = z
  .string()
  .max(4096)
  .refine((p) => !hasControl(p) && p.split('/').every((s) => SEGMENT.test(s)), 'expected a relative path (no "..", ".", empty segment, backslash or control character)');

export const trialSchema = z
  .object({
    id: safeIdSchema,
    index: z.number().int().nonnegative(),
    point: z.number().int().nonnegative(),
    params: z.record(z.string(), z.unknown()),
    overrides: z.record(z.string(), z.unknown()),
    config: z.unknown(),
    seed: z.number().int(),
    fold: z.number().int().nonnegative().optional(),
    rung: z.number().int().nonnegative().optional(),
  })
  .strict();

/** Which trials' model folders the workers upload: every trial's, the best so far's, or none. */
export const modelUploadSchema = z.enum(['best', 'all', 'none']);
export type ModelUpload = z.infer<typeof modelUploadSchema>;

/** What a queue job carries: the trial (its whole config) and how to rank it. No path of the coordinator's. */
export const trialJobSchema = z
  .object({
    trial: trialSchema,
    sweepId: safeIdSchema,
    metric: z.string().min(1),
    direction: z.enum(['max', 'min']),
    models: modelUploadSchema,
    /** Where the worker puts the trial's files: `redis`, or an S3-compatible bucket `s3://bucket/prefix`. */
    artifacts: z
      .string()
      .refine((v) => v === 'redis' || isS3Location(v), 'expected redis or s3://bucket/prefix')
      .default('redis'),
  })
  .strict();
export type TrialJobData = z.infer<typeof trialJobSchema>;

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256');

/** A complete upload: the chunks in order with their checksums, and the files they hold, in order. */
export const artifactManifestSchema = z
  .object({
    uploadId: safeIdSchema,
    kind: z.enum(['results', 'model']),
    bytes: z.number().int().nonnegative(),
    chunks: z.array(z.object({ bytes: z.number().int().positive(), sha256: sha256Schema }).strict()).max(1_000_000),
    files: z.array(z.object({ path: relativePathSchema, bytes: z.number().int().nonnegative(), sha256: sha256Schema }).strict()).max(100_000),
  })
  .strict()
  .superRefine((m, ctx) => {
    const chunkBytes = m.chunks.reduce((s, c) => s + c.bytes, 0);
    const fileBytes = m.files.reduce((s, f) => s + f.bytes, 0);
    if (chunkBytes !== m.bytes || fileBytes !== m.bytes) {
      ctx.addIssue({ code: 'custom', message: `bytes ${m.bytes}, chunks hold ${chunkBytes}, files ${fileBytes}: they must agree`, path: ['bytes'] });
    }
    const seen = new Set<string>();
    for (const [i, f] of m.files.entries()) {
      if (seen.has(f.path)) ctx.addIssue({ code: 'custom', message: `"${f.path}" is listed twice`, path: ['files', i, 'path'] });
      seen.add(f.path);
    }
  });
export type ArtifactManifest = z.infer<typeof artifactManifestSchema>;

/** A worker's report of a trial (the job's return value, or the results hash for a trial out of retries). */
export const trialResultSchema = z
  .object({
    id: safeIdSchema,
    index: z.number().int().nonnegative(),
    status: z.enum(['completed', 'failed']),
    metrics: z.record(z.string(), z.number()),
    runDir: z.string(),
    durationMs: z.number().nonnegative(),
    attempts: z.number().int().positive(),
    worker: z.string().max(256).optional(),
    error: z.string().optional(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    artifacts: z.array(artifactManifestSchema).max(2).optional(),
  })
  .strict();
export type WorkerResult = TrialResult & { artifacts?: ArtifactManifest[] };

/** Parses `value` or throws an E_DATA error naming `what`, each bad field, the value received and what is allowed. */
export function parseUntrusted<T>(schema: z.ZodType<T>, value: unknown, what: string, from = 'read from Redis'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.slice(0, 5).map((i) => {
    const received = i.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), value);
    const shown = JSON.stringify(received);
    return `${formatPath(i.path as (string | number)[]) || '(root)'}: received ${shown === undefined ? 'nothing' : shown.slice(0, 120)}; ${i.message}`;
  });
  throw new TfpipeError('E_DATA', `${what} ${from} is invalid:\n${lines.map((l) => `  - ${l}`).join('\n')}`, {
    hint: 'Something other than tfpipe wrote it, or the coordinator and the workers run different versions.',
  });
}

/** JSON text from Redis, parsed and checked. */
export function parseJsonFromRedis<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TfpipeError('E_DATA', `${what} read from Redis is not JSON: ${(e as Error).message}`);
  }
  return parseUntrusted(schema, value, what);
}

/** Throws E_USAGE unless `id` may name a sweep (queue, keys, folders). */
export function checkSweepId(id: string): string {
  if (!SAFE_ID.test(id)) {
    throw new TfpipeError('E_USAGE', `sweep id "${id}": expected letters, digits, ".", "_" or "-" (no "..", at most 128 characters)`, {
      hint: 'The sweep id defaults to the sweep directory\'s name; pass sweepId, or use a directory with a plain name.',
    });
  }
  return id;
}

export type { Trial };

/**
 * Where the chunks of uploads live between a worker and the coordinator: Redis itself (the default), or an
 * S3-compatible bucket (`s3://bucket/prefix`). Both only store bytes; what makes an upload complete and correct is
 * the manifest in the job's result (see artifacts.ts), so a store needs no transactions.
 */
import { createRequire } from 'node:module';
import { TfpipeError } from '@tfpipe/core';
import type { Redis } from 'ioredis';
import type { sweepKeys } from './queue-shared.js';

type SweepKeys = ReturnType<typeof sweepKeys>;

export interface ChunkStore {
  /** For messages: `redis` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Records that an upload began, so that `removeAll` finds it even if it never completes. */
  begin(uploadId: string): Promise<void>;
  /** Stores chunk `index` (0, 1, 2, … in order). */
  put(uploadId: string, index: number, data: Buffer): Promise<void>;
  /** How many chunks of the upload are stored. */
  count(uploadId: string): Promise<number>;
  get(uploadId: string, index: number): Promise<Buffer | undefined>;
  remove(uploadId: string): Promise<void>;
  /** Removes every upload of the sweep, complete or not. */
  removeAll(): Promise<void>;
}

/** How long chunks live in Redis if nobody collects or deletes them (ms). */
const CHUNK_TTL_MS = 7 * 24 * 3600 * 1000;

/** Chunks as a Redis list per upload (`<prefix>:sweep:<id>:upload:<uploadId>`), upload ids in a set. */
export function redisChunkStore(redis: Redis, keys: SweepKeys): ChunkStore {
  return {
    location: 'redis',
    async begin(uploadId) {
      await redis.sadd(keys.uploads, uploadId);
    },
    async put(uploadId, index, data) {
      await redis.rpush(keys.upload(uploadId), data);
      if (index === 0) await redis.pexpire(keys.upload(uploadId), CHUNK_TTL_MS);
    },
    count: (uploadId) => redis.llen(keys.upload(uploadId)),
    async get(uploadId, index) {
      const [data] = await redis.lrangeBuffer(keys.upload(uploadId), index, index);
      return data;
    },
    async remove(uploadId) {
      await redis.del(keys.upload(uploadId));
      await redis.srem(keys.uploads, uploadId);
    },
    async removeAll() {
      const ids = await redis.smembers(keys.uploads);
      for (let i = 0; i < ids.length; i += 500) await redis.del(...ids.slice(i, i + 500).map((id) => keys.upload(id)));
      await redis.del(keys.uploads);
    },
  };
}

/** Whether `location` is a well-formed `s3://bucket/prefix`. */
export function isS3Location(location: string): boolean {
  try {
    parseS3Location(location);
    return true;
  } catch {
    return false;
  }
}

/** `s3://bucket/prefix` → bucket and prefix (no trailing slash); E_USAGE for anything else. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/([A-Za-z0-9._/-]*))?$/.exec(location);
  if (!m || m[2]?.split('/').some((s) => s === '..' || s === '.')) {
    throw new TfpipeError('E_USAGE', `--artifacts: received "${location}"; expected redis or s3://bucket/prefix (a bucket name, then letters, digits, ".", "_", "-", "/")`);
  }
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/\/+$/, '') };
}

type S3 = typeof import('@aws-sdk/client-s3');
let s3Module: S3 | undefined;
/**
 * The SDK, loaded when first needed, through Node's own resolver: its package maps the `module` condition (which
 * bundlers, and vitest, ask for first) to files only a bundler can load; Node's `require` gets its CommonJS build.
 */
function loadS3(): S3 {
  s3Module ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3;
  return s3Module;
}
const clients = new Map<string, unknown>();

/**
 * Chunks as objects `<prefix>/<sweepId>/<uploadId>/<000000>` in a bucket, through `@aws-sdk/client-s3`. Region,
 * credentials and endpoint come from the usual AWS environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, …,
 * `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`); a custom endpoint (MinIO and the like) is addressed path-style.
 * Our own SHA-256 checks the bytes, so the SDK's optional checksums are off (not every S3-compatible server has them).
 */
export async function s3ChunkStore(location: string, sweepId: string): Promise<ChunkStore> {
  const { bucket, prefix } = parseS3Location(location);
  const s3 = loadS3();
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
  const clientKey = `${endpoint ?? ''}`;
  let client = clients.get(clientKey) as InstanceType<S3['S3Client']> | undefined;
  if (!client) {
    client = new s3.S3Client({
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.set(clientKey, client);
  }
  const c = client;
  const base = `${prefix ? `${prefix}/` : ''}${sweepId}/`;
  const key = (uploadId: string, index: number) => `${base}${uploadId}/${String(index).padStart(6, '0')}`;
  const wrap = async <T>(what: string, p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      throw new TfpipeError('E_IO', `${location}: cannot ${what}: ${(e as Error).name}: ${(e as Error).message}`, {
        hint: 'Check the bucket exists and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (and AWS_ENDPOINT_URL_S3 for an S3-compatible server).',
        cause: e,
      });
    }
  };
  const list = async (under: string): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await wrap(
        `list ${under}`,
        c.send(new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: under, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  };
  const removeKeys = async (keys: string[]) => {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      await wrap('delete objects', c.send(new s3.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } })));
    }
  };
  return {
    location,
    async begin() {},
    async put(uploadId, index, data) {
      await wrap(`write ${key(uploadId, index)}`, c.send(new s3.PutObjectCommand({ Bucket: bucket, Key: key(uploadId, index), Body: data })));
    },
    count: async (uploadId) => (await list(`${base}${uploadId}/`)).length,
    async get(uploadId, index) {
      try {
        const out = await c.send(new s3.GetObjectCommand({ Bucket: bucket, Key: key(uploadId, index) }));
        return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : undefined;
      } catch (e) {
        if ((e as Error).name === 'NoSuchKey') return undefined;
        throw new TfpipeError('E_IO', `${location}: cannot read ${key(uploadId, index)}: ${(e as Error).message}`, { cause: e });
      }
    },
    remove: async (uploadId) => removeKeys(await list(`${base}${uploadId}/`)),
    removeAll: async () => removeKeys(await list(base)),
  };
}

/** The store named by `location` (`redis`, or `s3://…`) for one sweep. */
export async function openChunkStore(location: string, redis: Redis, keys: SweepKeys, sweepId: string): Promise<ChunkStore> {
  return location === 'redis' ? redisChunkStore(redis, keys) : s3ChunkStore(location, sweepId);
}

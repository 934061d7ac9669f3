/**
 * Nothing read from Redis is trusted: bad job data fails the job (once, with a message naming the field), a bad
 * sweep id in the sweeps set is ignored, and an artifact whose manifest, chunks or files do not check out is
 * refused before anything lands in the sweep directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTfpipeError } from '@tfpipe/core';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWithout } from '@tfpipe/test-utils';
import { downloadArtifact, listFiles, uploadArtifact } from './artifacts.js';
import { redisChunkStore } from './chunk-store.js';
import { artifactManifestSchema, parseUntrusted, trialJobSchema } from './job-schema.js';
import { pingRedis, queueName, startWorker, sweepKeys } from './index.js';

const REDIS = process.env.TFPIPE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const reachable = await pingRedis(REDIS, 15_000).then(
  () => true,
  () => false,
);
// Skips without Redis, except under CI (or TFPIPE_REQUIRE_SERVICES=1), where that fails the file.
const noRedis = skipWithout('Redis', reachable, `no Redis at ${REDIS}`);
const PREFIX = `tfpipe-untrusted-${process.pid}-${Date.now().toString(36)}`;
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const goodJob = {
  trial: { id: 'trial-000', index: 0, point: 0, params: {}, overrides: {}, config: {}, seed: 1 },
  sweepId: 'quad-sweep-1',
  metric: 'score',
  direction: 'max',
  models: 'best',
};

afterAll(async () => {
  if (!reachable) return;
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('checking what comes from Redis', () => {
  it('job data: ids that could leave a folder, and fields of the wrong kind, are refused with the field and the value', () => {
    expect(parseUntrusted(trialJobSchema, goodJob, 'job 1').trial.id).toBe('trial-000');
    for (const [field, bad] of [
      ['trial.id', { ...goodJob, trial: { ...goodJob.trial, id: '../../etc' } }],
      ['trial.id', { ...goodJob, trial: { ...goodJob.trial, id: 'a/b' } }],
      ['sweepId', { ...goodJob, sweepId: '..' }],
      ['sweepId', { ...goodJob, sweepId: '/abs' }],
      ['models', { ...goodJob, models: 'some' }],
      ['(root)', { ...goodJob, sweepDir: '/somewhere' }],
    ] as const) {
      let error: unknown;
      try {
        parseUntrusted(trialJobSchema, bad, 'job 1');
      } catch (e) {
        error = e;
      }
      expect(isTfpipeError(error, 'E_DATA')).toBe(true);
      expect((error as Error).message).toContain(`${field}: received`);
    }
  });

  it('artifact manifests: paths stay inside, sizes agree, no path twice', () => {
    const file = { path: 'a/b.txt', bytes: 3, sha256: sha('abc') };
    const ok = { uploadId: 'trial-000.1.results.ab12', kind: 'results', bytes: 3, chunks: [{ bytes: 3, sha256: sha('abc') }], files: [file] };
    expect(artifactManifestSchema.safeParse(ok).success).toBe(true);
    for (const path of ['../x', '/etc/passwd', 'a/../../x', 'a/./b', 'a//b', 'a\\b', '', 'a/..']) {
      expect(artifactManifestSchema.safeParse({ ...ok, files: [{ ...file, path }] }).success, path).toBe(false);
    }
    expect(artifactManifestSchema.safeParse({ ...ok, bytes: 4 }).success).toBe(false);
    expect(artifactManifestSchema.safeParse({ ...ok, files: [file, file], bytes: 6, chunks: [{ bytes: 6, sha256: sha('abcabc') }] }).success).toBe(false);
  });
});

describe.skipIf(noRedis)('on a real Redis', () => {
  it('a worker fails a job with bad data at once (no retry, nothing written) and ignores a bad sweep id', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'tfpipe-untrusted-'));
    const warnings: string[] = [];
    const redis = new Redis(REDIS);
    // A sweep id that would be a path outside the scratch folder, put where workers look for sweeps.
    await redis.sadd(sweepKeys(PREFIX, '').active, '../escape');
    const worker = await startWorker({
      connection: REDIS,
      prefix: PREFIX,
      name: 'checker',
      scratchDir: scratch,
      pollMs: 100,
      runner: async (_trial, ctx) => ({ metrics: { score: 1 }, runDir: ctx.runDir }),
      logger: { info: () => {}, warn: (m) => warnings.push(m) },
    });
    const queue = new Queue(queueName('quad-sweep-1'), { connection: { host: '127.0.0.1', port: 6379 }, prefix: PREFIX });
    const events = new QueueEvents(queueName('quad-sweep-1'), { connection: { host: '127.0.0.1', port: 6379 }, prefix: PREFIX });
    try {
      await events.waitUntilReady();
      await redis.sadd(sweepKeys(PREFIX, '').active, 'quad-sweep-1');
      const job = await queue.add('bad', { ...goodJob, trial: { ...goodJob.trial, id: '../../outside' } }, { attempts: 3 });
      await job.waitUntilFinished(events).catch(() => {});
      const failed = await queue.getJob(job.id!);
      expect(failed!.failedReason).toMatch(/trial\.id: received "\.\.\/\.\.\/outside"/);
      expect(failed!.attemptsMade).toBe(1);
      expect(warnings.some((w) => w.includes('ignoring sweep id "../escape"'))).toBe(true);
      expect(worker.sweeps()).toEqual(['quad-sweep-1']);
      // Nothing was written for either.
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      await redis.quit();
    }
  });

  it('an artifact with a changed or a missing chunk is refused, and one that checks out arrives whole', async () => {
    const redis = new Redis(REDIS);
    const keys = sweepKeys(PREFIX, 'art-sweep');
    const src = await mkdtemp(join(tmpdir(), 'tfpipe-art-src-'));
    await mkdir(join(src, 'run', 'model'), { recursive: true });
    const big = Buffer.alloc(10_000, 7);
    await writeFile(join(src, 'run', 'model', 'w.bin'), big);
    await writeFile(join(src, 'result.json'), '{"ok":true}');
    await writeFile(join(src, 'empty.txt'), '');
    try {
      const files = await listFiles(src);
      expect(files).toEqual(['empty.txt', 'result.json', 'run/model/w.bin']);
      const store = redisChunkStore(redis, keys);
      const manifest = await uploadArtifact({ store, root: src, files, kind: 'results', label: 'trial-000.1', chunkBytes: 4096 });
      expect(manifest.chunks.map((c) => c.bytes)).toEqual([4096, 4096, 10_011 - 8192]);
      const whole = await mkdtemp(join(tmpdir(), 'tfpipe-art-dst-'));
      await downloadArtifact(store, manifest, whole);
      expect(await listFiles(whole)).toEqual(files);
      expect((await readFile(join(whole, 'run', 'model', 'w.bin'))).equals(big)).toBe(true);
      expect(await readFile(join(whole, 'result.json'), 'utf8')).toBe('{"ok":true}');

      // A manifest whose paths are a file and a folder at once is refused as bad data (the trial would run again).
      const clash = { ...manifest, files: [{ path: 'a', bytes: 0, sha256: sha('') }, { path: 'a/b', bytes: manifest.bytes, sha256: sha('') }] };
      await expect(downloadArtifact(store, clash, await mkdtemp(join(tmpdir(), 'tfpipe-art-dst-')))).rejects.toThrow(/cannot write a\/b/);

      // Changed in Redis: the chunk's checksum catches it.
      await redis.lset(keys.upload(manifest.uploadId), 1, Buffer.alloc(4096, 8));
      const changed = await downloadArtifact(store, manifest, await mkdtemp(join(tmpdir(), 'tfpipe-art-dst-'))).catch((e: unknown) => e);
      expect(isTfpipeError(changed, 'E_DATA')).toBe(true);
      expect((changed as Error).message).toMatch(/chunk 2 of 3 does not match its checksum/);

      // A chunk short (an upload that never finished): refused before anything is read.
      await redis.rpop(keys.upload(manifest.uploadId));
      const dst = await mkdtemp(join(tmpdir(), 'tfpipe-art-dst-'));
      await expect(downloadArtifact(store, manifest, dst)).rejects.toThrow(/is incomplete: redis holds 2 of its 3 chunks/);
      expect(await readdir(dst)).toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});

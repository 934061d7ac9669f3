/**
 * The S3 transport (`artifacts: s3://bucket/prefix`) against a real S3-compatible server (s3rver, from npm, on
 * 127.0.0.1): two worker processes with scratch folders of their own send every trial's files through the
 * bucket, the coordinator collects and checks them, and nothing is left in the bucket or in Redis afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithout } from '@tfpipe/test-utils';
import { score, seededBytes } from './__fixtures__/quadratic-runner.js';
import { parseS3Location } from './chunk-store.js';
import { pingRedis, workerEntryPath } from './index.js';

const REDIS = process.env.TFPIPE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const reachable = await pingRedis(REDIS, 15_000).then(
  () => true,
  () => false,
);
// Skips without Redis, except under CI (or TFPIPE_REQUIRE_SERVICES=1), where that fails the file.
const noRedis = skipWithout('Redis', reachable, `no Redis at ${REDIS}`);
const QUADRATIC = `${fileURLToPath(new URL('./__fixtures__/quadratic-runner.ts', import.meta.url))}#runTrial`;
const PREFIX = `tfpipe-s3-${process.pid}-${Date.now().toString(36)}`;
const BUCKET = 'tfpipe-test';
/**
 * Node flags for the processes that load the AWS SDK: this test process runs with vitest's `--conditions module`,
 * under which Node picks the SDK's bundler-only build, so they get the source flags only (as `pipeline` has).
 */
const FLAGS = ['--conditions=@tfpipe/source', '--import', 'tsx'];
const CHILD = fileURLToPath(new URL('./__fixtures__/s3-child.ts', import.meta.url));
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let server: S3rver;
let env: NodeJS.ProcessEnv;
const saved: Record<string, string | undefined> = {};
const workers: ChildProcess[] = [];

beforeAll(async () => {
  server = new S3rver({ port: 0, address: '127.0.0.1', directory: await mkdtemp(join(tmpdir(), 'tfpipe-s3rver-')), silent: true, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  // The usual AWS variables, here and in the workers.
  env = { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => (w.exitCode !== null || w.signalCode !== null ? undefined : new Promise((r) => w.once('exit', r)))));
  await server.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (reachable) {
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

/** Runs the S3 side in a child process; resolves with the JSON report it prints last. */
function s3Child<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const proc = spawn(process.execPath, [...FLAGS, CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) =>
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`s3-child exited with ${code}: ${err}`)))),
  );
}

function spawnWorker(name: string): Promise<ChildProcess> {
  const entry = workerEntryPath();
  return mkdtemp(join(tmpdir(), `tfpipe-s3-worker-${name}-`)).then((scratch) => {
    const args = ['worker', '--queue', REDIS, '--prefix', PREFIX, '--runner', QUADRATIC, '--name', name, '--scratch', scratch, '--chunk-bytes', '65536'];
    const proc = spawn(process.execPath, [...FLAGS, entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    workers.push(proc);
    let out = '';
    return new Promise<ChildProcess>((resolve, reject) => {
      proc.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes(`worker ${name} ready`)) resolve(proc);
      });
      proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      proc.on('exit', (code) => reject(new Error(`worker ${name} exited with ${code}: ${out}`)));
    });
  });
}

describe('artifacts in an S3-compatible bucket', () => {
  it('reads s3:// locations strictly', () => {
    expect(parseS3Location('s3://my-bucket/a/b/')).toEqual({ bucket: 'my-bucket', prefix: 'a/b' });
    expect(parseS3Location('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    for (const bad of ['s3://B/x', 's3://ab', 's3://bucket/../x', 'http://bucket/x', 's3://bucket/a b']) expect(() => parseS3Location(bad), bad).toThrow(/--artifacts: received/);
  });

  it('chunks round-trip through the bucket, and a changed or missing object is refused', async () => {
    const r = await s3Child(['roundtrip', BUCKET]);
    expect(r).toMatchObject({ chunks: 3, stored: 3, same: true, left: [] });
    expect(r.changed).toMatch(/chunk 2 of 3 does not match its checksum/);
    expect(r.missing).toMatch(/is incomplete: s3:\/\/tfpipe-test\/unit holds 0 of its 3 chunks/);
  });

  it.skipIf(noRedis)('two workers with scratch folders of their own send a 4-trial sweep’s files through the bucket', async () => {
    await Promise.all([spawnWorker('s1'), spawnWorker('s2')]);
    const sweepDir = await mkdtemp(join(tmpdir(), 'tfpipe-s3-sweep-'));
    const options = join(sweepDir, '..', `${sweepDir.split('/').at(-1)}.options.json`);
    await writeFile(
      options,
      JSON.stringify({
        connection: REDIS,
        prefix: PREFIX,
        noWorkerTimeoutSeconds: 60,
        pollMs: 100,
        artifacts: `s3://${BUCKET}/sweeps`,
        bucket: BUCKET,
        config: { name: 'quad', seed: 3, objective: { x: 0, y: 2 }, work: { ms: 0, bytes: 100_000, model: true } },
        sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0, 0.2, 0.3, 0.8] } },
        sweepDir,
      }),
    );
    const { summary, left } = await s3Child<{
      summary: { trials: { id: string; status: string; seed: number; params: Record<string, number> }[]; best: { trials: string[]; params: Record<string, number> } };
      left: string[];
    }>(['sweep', options]);
    expect(summary.trials.map((r) => r.status)).toEqual(Array(4).fill('completed'));
    for (const r of summary.trials) {
      const dir = join(sweepDir, 'trials', r.id);
      expect(sha256(await readFile(join(dir, 'data.bin')))).toBe(sha256(seededBytes(r.seed, 100_000)));
      expect(Number(await readFile(join(dir, 'score.txt'), 'utf8'))).toBeCloseTo(score(r.params['objective.x']!, 2), 12);
    }
    expect(summary.best.params).toEqual({ 'objective.x': 0.3 });
    expect(await readFile(join(sweepDir, 'trials', summary.best.trials[0]!, 'run', 'model', 'weights.bin'), 'utf8')).toBe(`${score(0.3, 2)}\n`);
    expect((await readdir(join(sweepDir, 'trials'))).sort()).toEqual(summary.trials.map((r) => r.id).sort());
    // Deleted from the bucket once collected (the unit test above emptied its own prefix); nothing went through Redis lists.
    expect(left).toEqual([]);
    const redis = new Redis(REDIS);
    expect(await redis.keys(`${PREFIX}:sweep:*:upload*`)).toEqual([]);
    await redis.quit();
  });
});

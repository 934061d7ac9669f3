/**
 * The S3 side of s3-transport.test.ts, in a process of its own: vitest runs tests with `--conditions module`,
 * under which Node loads the AWS SDK's bundler-only build. Production processes have no such flag.
 *
 *   roundtrip <bucket-location>              upload 150 kB in 3 chunks, download, tamper with one, report
 *   sweep <options.json>                     runSweepOnQueue(options) and print its summary
 * The last line printed is a JSON report.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadArtifact, listFiles, uploadArtifact } from '../artifacts.js';
import { s3ChunkStore } from '../chunk-store.js';
import { runSweepOnQueue } from '../queue-executor.js';
import { seededBytes } from './quadratic-runner.js';

const s3 = createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
const client = () => new s3.S3Client({ endpoint: process.env.AWS_ENDPOINT_URL_S3!, forcePathStyle: true, region: 'us-east-1' });

async function objects(bucket: string, prefix: string): Promise<string[]> {
  const c = client();
  const out = await c.send(new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  c.destroy();
  return (out.Contents ?? []).map((o) => o.Key!);
}

async function roundtrip(bucket: string): Promise<unknown> {
  const store = await s3ChunkStore(`s3://${bucket}/unit`, 'sweep-a');
  const src = await mkdtemp(join(tmpdir(), 'tfpipe-s3-src-'));
  await writeFile(join(src, 'data.bin'), seededBytes(5, 150_000));
  const manifest = await uploadArtifact({ store, root: src, files: await listFiles(src), kind: 'results', label: 'trial-000.1', chunkBytes: 65_536 });
  const stored = await objects(bucket, `unit/sweep-a/${manifest.uploadId}/`);
  const dst = await mkdtemp(join(tmpdir(), 'tfpipe-s3-dst-'));
  await downloadArtifact(store, manifest, dst);
  const same = (await readFile(join(dst, 'data.bin'))).equals(seededBytes(5, 150_000));
  const c = client();
  await c.send(new s3.PutObjectCommand({ Bucket: bucket, Key: `unit/sweep-a/${manifest.uploadId}/000001`, Body: Buffer.alloc(65_536, 1) }));
  c.destroy();
  const changed = await downloadArtifact(store, manifest, await mkdtemp(join(tmpdir(), 'tfpipe-s3-dst-'))).then(() => 'accepted', (e: Error) => e.message);
  await store.removeAll();
  const left = await objects(bucket, 'unit/sweep-a/');
  const missing = await downloadArtifact(store, manifest, await mkdtemp(join(tmpdir(), 'tfpipe-s3-dst-'))).then(() => 'accepted', (e: Error) => e.message);
  return { chunks: manifest.chunks.length, stored: stored.length, same, changed, left, missing };
}

const [mode, arg] = process.argv.slice(2);
const report =
  mode === 'roundtrip'
    ? await roundtrip(arg!)
    : await (async () => {
        const options = JSON.parse(await readFile(arg!, 'utf8')) as Parameters<typeof runSweepOnQueue>[0] & { bucket: string };
        const summary = await runSweepOnQueue(options);
        return { summary, left: await objects(options.bucket, '') };
      })();
console.log(JSON.stringify(report));

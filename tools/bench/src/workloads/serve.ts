/**
 * serve: HTTP load on `@tfpipe/serve` for the MNIST CNN, on loopback only (127.0.0.1), bounded in time.
 *
 * Builds a real run directory (the bench's MNIST CNN trained briefly on real digits, rescale 1/255, label
 * encoding), starts the server in a child process (so the load generator does not share its event loop),
 * and drives it with autocannon: one record per request (1 connection, then 32 connections, where
 * micro-batching groups them), and 32 records per request. Reports requests/s, records/s, p50/p99
 * latency, and the mean model batch the server formed (from its /metrics).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import type { ColumnInfo, Row } from '@tfpipe/data';
import { saveModelDir } from '@tfpipe/pipeline';
import { createTensorizer, Preprocessor } from '@tfpipe/preprocess';
import { benchData } from '../training/data.js';
import { buildModel } from '../training/models.js';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '127.0.0.1'; // never anything else: the load stays on this machine

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const COLUMNS: ColumnInfo[] = [
  { name: 'image', kind: 'image', shape: [28, 28, 1] },
  { name: 'label', kind: 'number' },
];

/** Real MNIST rows (pixels 0..255) from the bench's loader. */
export function mnistRows(n: number): Row[] {
  const d = benchData('mnist-cnn', n);
  const px = d.xs.dataSync();
  const labels = tf.tidy(() => tf.argMax(d.ys, 1).dataSync());
  tf.dispose([d.xs, d.ys]);
  return Array.from({ length: n }, (_, i) => ({
    image: Float32Array.from(px.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)),
    label: labels[i]!,
  }));
}

async function* iterate(rows: Row[]): AsyncGenerator<Row> {
  yield* rows;
}

/** A run directory for the bench CNN, trained for one short epoch (speed does not depend on accuracy). */
export async function makeRun(dir: string, rows: Row[]): Promise<void> {
  const pre = Preprocessor.fromConfig([{ type: 'rescale', column: 'image', scale: '1/255' }]);
  await pre.fit(() => iterate(rows), { columns: COLUMNS });
  const tz = createTensorizer(
    { features: ['image'], label: 'label', task: 'classification', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    pre.outputColumns(COLUMNS),
  );
  await tz.fit(() => iterate(rows.map((r) => pre.transform(r))));
  const model = buildModel('mnist-cnn');
  const b = tz.toBatch(rows.map((r) => pre.transform(r)));
  await model.fit(b.xs as tf.Tensor, b.ys as tf.Tensor, { epochs: 1, batchSize: 32, verbose: 0 });
  tf.dispose([b.xs as tf.Tensor, b.ys as tf.Tensor]);
  await saveModelDir(dir, {
    model,
    preprocessor: pre,
    tensorizer: tz,
    metadata: {
      name: 'mnist-cnn',
      task: tz.task,
      inputs: tz.inputs,
      rawColumns: COLUMNS.map((c) => ({
        name: c.name,
        kind: c.kind,
        ...(c.shape ? { shape: c.shape } : {}),
      })),
      ...('labels' in tz.task && tz.task.labels ? { labels: tz.task.labels } : {}),
      trainedAt: new Date().toISOString(),
      backend: tf.getBackend(),
      tfpipeVersion: '0.1.0',
    },
  });
  model.dispose();
}

/** Starts the server in a child process on a free loopback port; resolves with its URL. `extra`: more createServer options. */
export function startServer(
  runDir: string,
  backend: string,
  maxBatch: number,
  extra: Record<string, unknown> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const config = { runDir, backend, options: { maxBatch, batchWaitMs: 2, ...extra } };
  const child = spawn(
    process.execPath,
    [
      '--conditions=@tfpipe/source',
      '--import',
      'tsx',
      join(benchDir, 'src/serve-child.ts'),
      JSON.stringify(config),
    ],
    {
      cwd: benchDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) ok({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.on('exit', (code) => fail(new Error(`bench server exited with code ${code} before listening`)));
  });
}

/** Mean rows per model call so far, from the server's Prometheus text. */
async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? 0);
  return { sum: num('tfpipe_serve_batch_size_sum'), count: num('tfpipe_serve_batch_size_count') };
}

interface Scenario {
  name: string;
  connections: number;
  records: number;
}

export const workload: Workload = {
  name: 'serve',
  description:
    'HTTP serving of the MNIST CNN on 127.0.0.1 (autocannon): requests/s, records/s, p50/p99 latency, single-record and batched',
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const backend = opts.backend ?? 'wasm';
    await useBackend(backend as 'wasm' | 'cpu');
    const duration = opts.quick ? 3 : 10;
    const tmp = await mkdtemp(join(tmpdir(), 'tfpipe-bench-serve-'));
    const rows = mnistRows(512);
    const results: BenchResult[] = [];
    let child: ChildProcess | undefined;
    try {
      await makeRun(join(tmp, 'run'), rows);
      const maxBatch = 32;
      // Each engine in turn (@tfpipe/onnx's onnxruntime-node over the exported model, or TF.js on `backend`).
      for (const engine of ['tfjs', 'onnxruntime'] as const) {
        const started = await startServer(join(tmp, 'run'), backend, maxBatch, { engine });
        child = started.child;
        const url = started.url;
        if (!url.startsWith(`http://${HOST}:`)) throw new Error(`refusing to load ${url}: loopback only`);
        const record = (i: number) => ({ image: Array.from(rows[i % rows.length]!.image as Float32Array) });
        const scenarios: Scenario[] = [
          { name: 'single, 1 connection', connections: 1, records: 1 },
          { name: 'single, 32 connections', connections: 32, records: 1 },
          { name: 'batch of 32, 4 connections', connections: 4, records: 32 },
        ];
        for (const s of scenarios) {
          // Each request body cycles through different real digits.
          const bodies = Array.from({ length: 16 }, (_, k) =>
            JSON.stringify(
              s.records === 1
                ? record(k)
                : { instances: Array.from({ length: s.records }, (_, j) => record(k * s.records + j)) },
            ),
          );
          const warm = await fetch(`${url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: bodies[0]!,
          });
          if (warm.status !== 200)
            throw new Error(`warm-up request failed: ${warm.status} ${await warm.text()}`);
          const before = await batchStats(url);
          const r = await autocannon({
            url: `${url}/predict`,
            connections: s.connections,
            duration,
            timeout: 30,
            requests: bodies.map((body) => ({
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
            })),
          });
          const after = await batchStats(url);
          results.push({
            workload: 'serve',
            scenario: s.name,
            engine,
            backend,
            model: 'mnist-cnn',
            requestsPerSec: r.requests.average,
            recordsPerSec: r.requests.average * s.records,
            meanMs: r.latency.average,
            p50Ms: r.latency.p50,
            p99Ms: r.latency.p99,
            meanModelBatch: (after.sum - before.sum) / Math.max(after.count - before.count, 1),
            requests: r.requests.total,
            errors: r.errors + r.timeouts + r.non2xx,
            seconds: duration,
            maxBatch,
          });
        }
        child.kill('SIGTERM');
        child = undefined;
      }
    } finally {
      child?.kill('SIGTERM');
      await rm(tmp, { recursive: true, force: true });
    }
    return results;
  },
};

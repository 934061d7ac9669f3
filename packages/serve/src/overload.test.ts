import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedRun } from '@tfpipe/pipeline';
import type { Row } from '@tfpipe/data';
import { makeMnistRun, mnistRows } from './__fixtures__/mnist-run.js';
import { loadServedRun } from './load-run.js';
import { imagePixelLimit } from './records.js';
import { createServer } from './server.js';

type Pred = { label: string; probabilities: Record<string, number> };

let tmp: string;
let reference: LoadedRun;
const digits = mnistRows(64, 2000);
let pngs: string[];

const png = (px: Float32Array) => sharp(Buffer.from(Uint8Array.from(px)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
const body32 = (k: number) => JSON.stringify({ instances: Array.from({ length: 32 }, (_, j) => ({ image: pngs[(k + j) % pngs.length] })) });
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** A gauge from the server's Prometheus text. */
async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

/** Polls until `check` holds: waits on a condition, never on a fixed time. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
}

/** The run with its predict held at a gate the test opens, counting the rows it computes. */
function gated(run: LoadedRun): { run: LoadedRun; rows: () => number; entered: Promise<void>; open: () => void } {
  let computed = 0;
  let enter!: () => void;
  let open!: () => void;
  const entered = new Promise<void>((r) => (enter = r));
  const opened = new Promise<void>((r) => (open = r));
  return {
    run: {
      ...run,
      async predict(rows: Row[]) {
        computed += rows.length;
        enter();
        await opened;
        return run.predict(rows);
      },
    },
    rows: () => computed,
    entered,
    open,
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-load-'));
  await makeMnistRun(join(tmp, 'run'), { model: 'dense', epochs: 1 });
  reference = await loadServedRun(join(tmp, 'run'));
  pngs = await Promise.all(digits.map(async (d) => (await png(d.image as Float32Array)).toString('base64')));
});

afterAll(async () => {
  reference?.model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('a bounded queue', () => {
  it('answers 503 with Retry-After when full, drops a timed-out request without computing it, and serves the rest', async () => {
    const g = gated(await loadServedRun(join(tmp, 'run')));
    const server = await createServer(g.run, { port: 0, maxBatch: 32, maxQueueRows: 64, timeoutMs: 600_000 });
    const url = await server.listen();
    try {
      const a = post(url, body32(0));
      await g.entered; // A is in the model call, held
      const b = post(url, body32(1));
      await until(async () => (await gauge(url, 'tfpipe_serve_queue_rows')) === 32);
      // E may wait at most 1 ms: it times out while the model is held, and leaves the queue uncomputed.
      const e = await post(url, JSON.stringify({ image: pngs[5] }), { 'x-timeout-ms': '1' });
      expect(e.status).toBe(503);
      expect(((await e.json()) as { error: { code: string } }).error.code).toBe('E_TIMEOUT');
      const c = post(url, body32(2));
      await until(async () => (await gauge(url, 'tfpipe_serve_queue_rows')) === 64);
      const d = await post(url, body32(3));
      expect(d.status).toBe(503);
      expect(Number(d.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await d.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_BUSY' });
      const bad = await post(url, body32(4), { 'x-timeout-ms': 'soon' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('X-Timeout-Ms');
      g.open();
      const answers = await Promise.all([a, b, c]);
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      const got = ((await answers[1]!.json()) as { predictions: Pred[] }).predictions;
      const want = (await reference.predict(digits.slice(1, 33).map((r): Row => ({ image: r.image! })))) as Pred[];
      expect(got.map((p) => p.label)).toEqual(want.map((p) => p.label));
      expect(g.rows()).toBe(96); // A, B and C; never E
      expect(await gauge(url, 'tfpipe_serve_queue_rows_max')).toBe(64);
    } finally {
      await server.close();
    }
  });
});

describe('overload', () => {
  it('200 concurrent clients each sending a 32-image request: only 200/503 come back, /health answers, queue, requests and decodes stay within their bounds, no tensor leaks', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const run = await loadServedRun(join(tmp, 'run'));
    const limits = { maxQueueRows: 64, maxConcurrent: 48, decodeConcurrency: 2 };
    const server = await createServer(run, { port: 0, maxBatch: 32, timeoutMs: 600_000, ...limits });
    const url = await server.listen();
    const statuses: number[] = [];
    const health: number[] = [];
    let k = 0;
    try {
      let loadDone = false;
      const client = async () => {
        for (let i = 0; i < 1; i++) {
          const n = k++;
          const res = await post(url, body32(n));
          statuses.push(res.status);
          const json = (await res.json()) as { predictions?: Pred[]; error?: { code: string } };
          if (res.status === 503) {
            expect(Number(res.headers.get('retry-after') ?? '0') >= 1 || json.error?.code === 'E_TIMEOUT').toBe(true);
          } else if (res.status === 200 && n % 50 === 0) {
            const want = (await reference.predict(Array.from({ length: 32 }, (_, j): Row => ({ image: digits[(n + j) % digits.length]!.image! })))) as Pred[];
            expect(json.predictions!.map((p) => p.label)).toEqual(want.map((p) => p.label));
          }
        }
      };
      const watcher = (async () => {
        do {
          health.push((await fetch(`${url}/health`)).status);
          await new Promise((r) => setTimeout(r, 10)); // a probe now and then, not a second load
        } while (!loadDone);
      })();
      await Promise.all(Array.from({ length: 200 }, client));
      loadDone = true;
      await watcher;
      const allowed = new Set([200, 503]);
      expect(statuses).toHaveLength(200);
      expect(statuses.filter((s) => !allowed.has(s))).toEqual([]);
      expect(statuses).toContain(200);
      expect(health.length).toBeGreaterThan(0);
      expect(health.every((s) => s === 200)).toBe(true);
      expect(await gauge(url, 'tfpipe_serve_queue_rows_max')).toBeLessThanOrEqual(limits.maxQueueRows);
      expect(await gauge(url, 'tfpipe_serve_inflight_requests_max')).toBeLessThanOrEqual(limits.maxConcurrent);
      expect(await gauge(url, 'tfpipe_serve_decoding_images_max')).toBeLessThanOrEqual(limits.decodeConcurrency);
      expect(await gauge(url, 'tfpipe_serve_queue_rows')).toBe(0);
      console.log(`overload: ${statuses.filter((s) => s === 200).length} x 200, ${statuses.filter((s) => s === 503).length} x 503, ${health.length} health checks`);
    } finally {
      await server.close();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

describe('image limits', () => {
  it('takes the pixel limit from the input shape and refuses a larger image from its header with a 400 naming the field', async () => {
    expect(imagePixelLimit([28, 28, 1])).toBe(4_000_000);
    expect(imagePixelLimit([224, 224, 3])).toBe(224 * 224 * 256);
    expect(imagePixelLimit([4000, 4000, 3])).toBe(50_000_000);
    const server = await createServer(join(tmp, 'run'), { port: 0, maxImagePixels: 10_000 });
    const url = await server.listen();
    try {
      const big = await sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
      const res = await post(url, JSON.stringify({ instances: [{ image: pngs[0] }, { image: big.toString('base64') }] }));
      expect(res.status).toBe(400);
      const err = (await res.json()) as { error: { issues: { path: string; message: string; expected: string }[] } };
      expect(err.error.issues[0]).toMatchObject({ path: 'instances[1].image', message: 'image too large' });
      expect(err.error.issues[0]!.expected).toContain('10000 pixels');
      expect((await post(url, JSON.stringify({ image: pngs[0] }))).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

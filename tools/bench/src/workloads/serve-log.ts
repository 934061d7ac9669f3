/**
 * serve-log: what `pipeline serve --log` costs a request. The bench's MNIST CNN run is served by three
 * servers in child processes on 127.0.0.1: logging off, logging every request (sample 1, the worst case:
 * each logged row carries its 784 pixels), and a 10% sample. A closed loop of 32 keep-alive clients
 * (one real digit per request, as pixel arrays) drives one server at a time, in rounds that alternate
 * off / on / sampled so that a change in machine load hits all three alike. Latency is measured per
 * request with performance.now() (sub-millisecond), and p50/p99 are taken over all rounds of a server.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@tfpipe/data';
import { useBackend } from '@tfpipe/core';
import type { BenchOptions, BenchResult, Workload } from '../types.js';
import { makeRun, mnistRows, startServer } from './serve.js';

const HOST = '127.0.0.1';
const CONNECTIONS = 32;

/** POSTs `body` to `url` with a keep-alive agent; resolves with the status once the answer is read. */
function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: '/predict', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** `CONNECTIONS` clients in a closed loop for `seconds`; every latency in ms. */
async function drive(url: string, bodies: string[], seconds: number): Promise<{ latencies: number[]; errors: number }> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  let k = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const body = bodies[k++ % bodies.length]!;
        const t = performance.now();
        const status = await post(agent, target, body).catch(() => 0);
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  agent.destroy();
  return { latencies, errors };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function countLines(dir: string): Promise<number> {
  let n = 0;
  for (const f of (await readdir(dir).catch(() => [])).filter((f) => f.startsWith('requests-'))) {
    n += (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean).length;
  }
  return n;
}

export const workload: Workload = {
  name: 'serve-log',
  description: 'p50/p99 latency of POST /predict with the request log off, on (every request) and sampled (10%), 32 clients on 127.0.0.1',
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const backend = opts.backend ?? 'wasm';
    await useBackend(backend as 'wasm' | 'cpu');
    // Short rounds, many of them, interleaved: a change in the machine's load falls on all three alike.
    const seconds = opts.quick ? 2 : 3;
    const rounds = opts.quick ? 4 : 10;
    const tmp = await mkdtemp(join(tmpdir(), 'tfpipe-bench-serve-log-'));
    const rows: Row[] = mnistRows(512);
    const children: ChildProcess[] = [];
    try {
      await makeRun(join(tmp, 'run'), rows);
      const configs = [
        { name: 'log off', extra: {} as Record<string, unknown>, dir: undefined as string | undefined },
        { name: 'log on, every request', extra: { log: { dir: join(tmp, 'log-all') } }, dir: join(tmp, 'log-all') },
        { name: 'log on, 10% sample', extra: { log: { dir: join(tmp, 'log-10'), sample: 0.1 } }, dir: join(tmp, 'log-10') },
      ];
      const servers = [];
      for (const c of configs) {
        const s = await startServer(join(tmp, 'run'), backend, 32, c.extra);
        children.push(s.child);
        if (!s.url.startsWith(`http://${HOST}:`)) throw new Error(`refusing to load ${s.url}: loopback only`);
        servers.push({ ...c, url: s.url, latencies: [] as number[], errors: 0, requests: 0 });
      }
      const bodies = Array.from({ length: 64 }, (_, i) => JSON.stringify({ image: Array.from(rows[i]!.image as Float32Array) }));
      for (const s of servers) await drive(s.url, bodies, 1); // warm-up
      for (let r = 0; r < rounds; r++) {
        for (const s of servers) {
          const got = await drive(s.url, bodies, seconds);
          s.latencies.push(...got.latencies);
          s.errors += got.errors;
          s.requests += got.latencies.length;
        }
      }
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map((c) => new Promise((ok) => (c.exitCode !== null ? ok(null) : c.on('exit', ok)))));
      const off = [...servers[0]!.latencies].sort((a, b) => a - b);
      return await Promise.all(
        servers.map(async (s) => {
          const sorted = [...s.latencies].sort((a, b) => a - b);
          return {
            workload: 'serve-log',
            scenario: s.name,
            backend,
            connections: CONNECTIONS,
            requests: s.requests,
            requestsPerSec: s.requests / (rounds * seconds),
            p50Ms: pct(sorted, 50),
            p99Ms: pct(sorted, 99),
            p99VsOff: pct(sorted, 99) / pct(off, 99),
            loggedRows: s.dir ? await countLines(s.dir) : 0,
            errors: s.errors,
            seconds: rounds * seconds,
          };
        }),
      );
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
      await rm(tmp, { recursive: true, force: true });
    }
  },
};

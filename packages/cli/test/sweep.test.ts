import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipWithout, tcpListening } from '@tfpipe/test-utils';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, startPipeline } from './helpers.js';

// The sweep verbs through the real binary: local child processes, two workers on a real Redis, k8s manifests.
const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'iris-sweep.yaml');
const REDIS = 'redis://127.0.0.1:6379';


// Skips without a Redis on 127.0.0.1:6379, except under CI (or TFPIPE_REQUIRE_SERVICES=1), where that fails the file.
const noRedis = skipWithout('Redis', await tcpListening(6379), `nothing listens on ${REDIS} (apt-get install redis-server; pnpm test starts it)`);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-sweep-e2e-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function expectCompletedSweep(dir: string, stdout: string): Promise<void> {
  expect(stdout).toMatch(/trial-000\s+0\.003\s+completed/);
  expect(stdout).toMatch(/trial-001\s+0\.03\s+completed/);
  expect(stdout).toMatch(/best: trial-00[01] val_accuracy=/);
  const summary = JSON.parse(await readFile(join(dir, 'sweep.json'), 'utf8')) as { status: string; trials: { status: string; metrics: Record<string, number> }[] };
  expect(summary.status).toBe('completed');
  expect(summary.trials).toHaveLength(2);
  for (const t of summary.trials) {
    expect(t.status).toBe('completed');
    // Three balanced classes: always answering one scores 0.33; these trials reach 0.8 to 0.87.
    expect(t.metrics.val_accuracy).toBeGreaterThan(0.6);
    expect(t.metrics.test_accuracy).toBeGreaterThan(0.6);
  }
  for (const id of await readdir(join(dir, 'trials'))) expect(existsSync(join(dir, 'trials', id, 'run', 'model', 'model.json'))).toBe(true);
}

describe('pipeline sweep', () => {
  it('runs a grid locally in child processes and reports the best trial', async () => {
    const dir = join(tmp, 'local');
    const r = await pipeline(['sweep', fixture, '--out', dir, '--parallel', '2']);
    expect(r.code, r.stderr).toBe(0);
    await expectCompletedSweep(dir, r.stdout);
    const status = await pipeline(['sweep', 'status', dir]);
    expect(status.stdout).toMatch(/status: completed/);
  }, 300_000);

  it.skipIf(noRedis)('runs the same grid on two workers through Redis (needs redis-server on 127.0.0.1:6379)', async () => {
    const dir = join(tmp, 'queue');
    // Each worker runs trials in a scratch folder of its own; nothing but Redis is shared with the sweep.
    const scratch = [join(tmp, 'w1'), join(tmp, 'w2')];
    const workers = scratch.map((d) => startPipeline(['worker', '--queue', REDIS, '--scratch', d]));
    try {
      // --models all: every trial's model folder comes back (the default, best, brings the best trial's only).
      // No --timeout: how long two workers take on a loaded machine must not decide the outcome (the test's own timeout guards a hang).
      const r = await pipeline(['sweep', fixture, '--out', dir, '--queue', REDIS, '--models', 'all']);
      expect(r.code, r.stderr).toBe(0);
      await expectCompletedSweep(dir, r.stdout);
      const runners = JSON.parse(await readFile(join(dir, 'sweep.json'), 'utf8')) as { trials: { worker?: string }[] };
      expect(runners.trials.every((t) => typeof t.worker === 'string')).toBe(true);
      for (const id of await readdir(join(dir, 'trials'))) {
        const run = join(dir, 'trials', id, 'run');
        for (const f of ['metrics.jsonl', 'run.json', 'report.html']) expect(existsSync(join(run, f)), `${id}/run/${f}`).toBe(true);
        const result = JSON.parse(await readFile(join(dir, 'trials', id, 'result.json'), 'utf8')) as { runDir: string };
        expect(result.runDir).toBe(run);
      }
      // The workers deleted each trial's files once sent.
      for (const d of scratch) for (const sweepId of await readdir(d)) expect(await readdir(join(d, sweepId, 'trials'))).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => new Promise((res) => { w.on('close', res); w.kill('SIGINT'); })));
    }
  }, 300_000);

  it('emits a valid Indexed Job for the sweep without contacting a cluster', async () => {
    const dir = join(tmp, 'k8s');
    const r = await pipeline(['sweep', fixture, '--emit', 'k8s', '--out', dir, '--image', 'registry.example/tfpipe:1']);
    expect(r.code, r.stderr).toBe(0);
    const file = (await readdir(dir)).find((f) => f.endsWith('.job.yaml'))!;
    const docs = parseAllDocuments(await readFile(join(dir, file), 'utf8')).map((d) => d.toJS() as { kind: string; spec?: { completions?: number; completionMode?: string } });
    const job = docs.find((d) => d.kind === 'Job')!;
    expect(job.spec).toMatchObject({ completions: 2, completionMode: 'Indexed' });
    expect(docs.some((d) => d.kind === 'ConfigMap')).toBe(true);
  }, 300_000);

  it('with --queue, emits a pool of queue workers with no volume, and says where pods read the data', async () => {
    const dir = join(tmp, 'k8s-pool');
    const r = await pipeline(['sweep', fixture, '--emit', 'k8s', '--queue', 'redis://redis.ml:6379', '--out', dir, '--image', 'registry.example/tfpipe:1']);
    expect(r.code, r.stderr).toBe(0);
    const file = (await readdir(dir)).find((f) => f.endsWith('.job.yaml'))!;
    const docs = parseAllDocuments(await readFile(join(dir, file), 'utf8')).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });
    expect(docs.map((d) => d.kind)).toEqual(['Job']);
    expect(JSON.stringify(docs[0])).not.toMatch(/volume/i);
    expect(JSON.stringify(docs[0])).toContain('"--exit-when-done"');
    // The fixture names a file on this machine: the emit says so, and how the coordinator is started.
    expect(r.stdout).toMatch(/data: data\.source\.path = \/.*iris\.csv \(a path on this machine: pods must have it at this path/);
    expect(r.stdout).toMatch(/then run the coordinator: pipeline sweep .*iris-sweep\.yaml --queue redis:\/\/redis\.ml:6379 --out .*e2e-sweep-sweep-/);
  }, 300_000);
});

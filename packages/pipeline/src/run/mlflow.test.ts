import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { runPipeline } from './runner.js';

// A local stand-in for an MLflow tracking server: it answers the REST calls the sink makes and records them.
interface Call {
  method: string;
  path: string;
  body: Record<string, unknown>;
}
let server: Server;
let uri: string;
const calls: Call[] = [];
const experiments = new Map<string, string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      calls.push({ method: req.method!, path: url.pathname, body });
      const reply = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      switch (url.pathname) {
        case '/api/2.0/mlflow/experiments/get-by-name': {
          const id = experiments.get(url.searchParams.get('experiment_name') ?? '');
          return id ? reply(200, { experiment: { experiment_id: id } }) : reply(404, { error_code: 'RESOURCE_DOES_NOT_EXIST' });
        }
        case '/api/2.0/mlflow/experiments/create': {
          const id = String(experiments.size + 1);
          experiments.set(body.name as string, id);
          return reply(200, { experiment_id: id });
        }
        case '/api/2.0/mlflow/runs/create':
          return reply(200, { run: { info: { run_id: `run-${calls.length}` } } });
        case '/api/2.0/mlflow/runs/log-batch':
        case '/api/2.0/mlflow/runs/update':
          return reply(200, {});
        default:
          return reply(404, { error_code: 'ENDPOINT_NOT_FOUND' });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const iris = resolve(import.meta.dirname, '../../../../examples/iris-mlp/iris.csv');
async function config(dir: string, trackingUri: string): Promise<string> {
  const file = join(dir, 'p.yaml');
  await writeFile(
    file,
    [
      'name: tracked',
      'backend: cpu',
      `data: { source: { type: csv, path: ${JSON.stringify(iris)} }, features: [sepal_length, petal_length], label: species, split: { validation: 0.2, test: 0.2 } }`,
      'model: { type: mlp, units: [4] }',
      'train: { epochs: 3, metrics: [accuracy] }',
      `tracking: { mlflow: { uri: ${JSON.stringify(trackingUri)}, experiment: iris-experiments } }`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('tracking.mlflow', () => {
  it('creates the experiment and run, logs params, per-epoch and test metrics, and finishes the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-mlflow-'));
    try {
      const result = await runPipeline(await loadPipelineConfig(await config(dir, uri)), { out: join(dir, 'run') });
      const paths = calls.map((c) => c.path.replace('/api/2.0/mlflow/', ''));
      expect(paths.slice(0, 3)).toEqual(['experiments/get-by-name', 'experiments/create', 'runs/create']);
      expect(calls[1]!.body).toEqual({ name: 'iris-experiments' });
      const runId = result.info.tracking?.mlflow?.runId;
      expect(runId).toMatch(/^run-/);
      const batches = calls.filter((c) => c.path.endsWith('runs/log-batch')).map((c) => c.body);
      expect(batches.every((b) => b.run_id === runId)).toBe(true);
      const params = batches.flatMap((b) => (b.params ?? []) as { key: string; value: string }[]);
      expect(params).toContainEqual({ key: 'train.epochs', value: '3' });
      expect(params).toContainEqual({ key: 'model.type', value: 'mlp' });
      const metrics = batches.flatMap((b) => (b.metrics ?? []) as { key: string; value: number; step: number }[]);
      expect(metrics.filter((m) => m.key === 'loss').map((m) => m.step)).toEqual([1, 2, 3]);
      expect(metrics.filter((m) => m.key === 'val_accuracy')).toHaveLength(3);
      const testAcc = metrics.find((m) => m.key === 'test_accuracy');
      expect(testAcc?.value).toBe(result.evaluation?.metrics.accuracy);
      const update = calls.at(-1)!;
      expect(update.path).toMatch(/runs\/update$/);
      expect(update.body).toMatchObject({ run_id: runId, status: 'FINISHED' });
      const info = JSON.parse(await readFile(join(dir, 'run', 'run.json'), 'utf8')) as { tracking: unknown };
      expect(info.tracking).toEqual({ mlflow: { uri, runId, experimentId: '1' } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('an unreachable server fails the run before training, naming tracking.mlflow', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-mlflow-'));
    try {
      const loaded = await loadPipelineConfig(await config(dir, 'http://127.0.0.1:9'));
      await expect(runPipeline(loaded, { out: join(dir, 'run') })).rejects.toThrow(/tracking\.mlflow: cannot start a run at http:\/\/127\.0\.0\.1:9/);
      const info = JSON.parse(await readFile(join(dir, 'run', 'run.json'), 'utf8')) as { status: string; epochs?: number };
      expect(info.status).toBe('failed');
      expect(info.epochs).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedRun, loadRun } from '@tfpipe/pipeline';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import type { Row } from '@tfpipe/data';
import { makeIrisRun } from './__fixtures__/iris-run.js';
import { createServer, type PredictionServer } from './server.js';

let tmp: string;
let test: Row[];
let reference: LoadedRun;
let server: PredictionServer;
let url: string;

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const post = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-'));
  ({ test } = await makeIrisRun(join(tmp, 'run-a'), { seed: 1 }));
  reference = await loadRun(join(tmp, 'run-a'));
  server = await createServer(join(tmp, 'run-a'), { port: 0, maxBatch: 8, batchWaitMs: 2, bodyLimit: 64 * 1024 });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
  reference?.model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('POST /predict', () => {
  it('gives the same predictions over HTTP as LoadedRun.predict on the raw test split', async () => {
    const expected = await reference.predict(test);
    // One record per request, all at once (micro-batched together), and all records in one request.
    const single = await Promise.all(test.map(async (r) => (await (await post('/predict', features(r))).json()) as { prediction: { label: string; class: number; probabilities: Record<string, number> } }));
    const many = (await (await post('/predict', { instances: test })).json()) as { predictions: { label: string; probabilities: Record<string, number> }[] };
    expect(many.predictions).toHaveLength(test.length);
    test.forEach((_, i) => {
      const e = expected[i] as { label: string; probabilities: Record<string, number> };
      for (const got of [single[i]!.prediction, many.predictions[i]!]) {
        expect(got.label).toBe(e.label);
        for (const [k, p] of Object.entries(e.probabilities)) expect(got.probabilities[k]).toBeCloseTo(p, 6);
      }
      expect(reference.metadata.labels![single[i]!.prediction.class]).toBe(e.label);
    });
    // The model learnt iris: most test rows get their true species (a sanity check on the fixture).
    const right = test.filter((r, i) => single[i]!.prediction.label === r.species).length;
    expect(right / test.length).toBeGreaterThan(0.8);
  });

  it('answers every bad request with a 400 (or 413/415) naming the field, and stays up', async () => {
    const good = features(test[0]!);
    const cases: { name: string; send: () => Promise<Response>; status: number; field: string }[] = [
      { name: 'wrong type', send: () => post('/predict', { ...good, petal_length: 'long' }), status: 400, field: 'petal_length' },
      { name: 'missing field', send: () => post('/predict', { sepal_length: 5, sepal_width: 3, petal_length: 1 }), status: 400, field: 'petal_width' },
      { name: 'NaN as text', send: () => post('/predict', { ...good, sepal_width: 'NaN' }), status: 400, field: 'sepal_width' },
      { name: 'Infinity from 1e999', send: () => post('/predict', `{"sepal_length":1e999,"sepal_width":3,"petal_length":1,"petal_width":0.2}`), status: 400, field: 'sepal_length' },
      { name: 'NaN literal (malformed JSON)', send: () => post('/predict', `{"sepal_length":NaN}`), status: 400, field: 'body' },
      { name: 'malformed JSON', send: () => post('/predict', '{"sepal_length": 5,'), status: 400, field: 'body' },
      { name: 'unknown field (typo)', send: () => post('/predict', { ...good, petal_widht: 1 }), status: 400, field: 'petal_widht' },
      { name: 'wrong shape: instances not an array', send: () => post('/predict', { instances: good }), status: 400, field: 'instances' },
      { name: 'wrong shape: a bare array', send: () => post('/predict', [good]), status: 400, field: 'body' },
      { name: 'bad record inside instances', send: () => post('/predict', { instances: [good, { ...good, sepal_length: [1] }] }), status: 400, field: 'instances[1].sepal_length' },
      { name: 'empty instances', send: () => post('/predict', { instances: [] }), status: 400, field: 'instances' },
      { name: 'huge body', send: () => post('/predict', { instances: Array.from({ length: 2000 }, () => good) }), status: 413, field: 'body' },
      { name: 'empty body', send: () => post('/predict', ''), status: 400, field: 'body' },
      { name: 'text instead of JSON', send: () => post('/predict', 'x', { 'content-type': 'text/plain' }), status: 400, field: 'body' },
      { name: 'unsupported content type', send: () => post('/predict', 'x', { 'content-type': 'application/xml' }), status: 415, field: 'body' },
    ];
    for (const c of cases) {
      const res = await c.send();
      const body = (await res.json()) as { error: { message: string; issues: { path: string }[] } };
      expect({ name: c.name, status: res.status }).toEqual({ name: c.name, status: c.status });
      expect(body.error.issues.map((i) => i.path), c.name).toContain(c.field);
      if (c.field !== 'body') expect(body.error.message, c.name).toContain(c.field);
    }
    const typo = (await (await post('/predict', { ...good, petal_widht: 1 })).json()) as { error: { issues: { message: string }[] } };
    expect(typo.error.issues.some((i) => i.message.includes('did you mean "petal_width"'))).toBe(true);
    const ok = await post('/predict', good);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { prediction: { label: string } }).prediction.label).toBe(((await reference.predict([test[0]!]))[0] as { label: string }).label);
  });

  it('accepts a record as multipart form fields', async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(features(test[3]!))) form.set(k, String(v));
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { prediction } = (await res.json()) as { prediction: { label: string } };
    expect(prediction.label).toBe(((await reference.predict([test[3]!]))[0] as { label: string }).label);
    const bad = new FormData();
    for (const [k, v] of Object.entries(features(test[3]!))) bad.set(k, k === 'sepal_width' ? 'wide' : String(v));
    const res2 = await fetch(`${url}/predict`, { method: 'POST', body: bad });
    expect(res2.status).toBe(400);
    expect(((await res2.json()) as { error: { message: string } }).error.message).toContain('sepal_width');
  });

  it('does not leak tensors over many requests', async () => {
    await expectNoLeakedTensors(async () => {
      await Promise.all(test.slice(0, 10).map((r) => post('/predict', features(r)).then((res) => res.json())));
      await post('/predict', { instances: test }).then((res) => res.json());
      await post('/predict', { sepal_length: 'x' }).then((res) => res.json());
    }, 5);
  });
});

describe('GET endpoints', () => {
  it('serves health, metadata, Prometheus metrics and an OpenAPI document built from the request schemas', async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: string };
    expect(health).toMatchObject({ status: 'ok', model: 'iris-mlp' });

    const meta = (await (await fetch(`${url}/metadata`)).json()) as { labels: string[]; request: { columns: { name: string }[]; labelColumns: string[] }; metrics: Record<string, number> };
    expect(meta.labels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(meta.request.columns.map((c) => c.name)).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(meta.request.labelColumns).toEqual(['species']);
    expect(meta.metrics).toEqual({ accuracy: 0 });

    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const count = (status: string) => Number(text.match(new RegExp(`tfpipe_serve_requests_total\\{route="/predict",method="POST",status="${status}"\\} (\\d+)`))?.[1] ?? 0);
    expect(count('200')).toBeGreaterThan(0);
    expect(count('400')).toBeGreaterThan(0);
    expect(text).toMatch(/tfpipe_serve_request_duration_seconds_bucket\{route="\/predict",method="POST",le="\+Inf"\} \d+/);
    expect(text).toMatch(/tfpipe_serve_errors_total\{route="\/predict",kind="client"\} \d+/);
    expect(text).toMatch(/tfpipe_serve_batch_size_count \d+/);

    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: boolean }> } };
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/predict', '/health', '/metadata', '/metrics', '/openapi.json']));
    expect(doc.paths['/admin/reload']).toBeUndefined();
    const rec = doc.components.schemas.Record!;
    expect(rec.required).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(Object.keys(rec.properties!)).toContain('species');
    expect(rec.additionalProperties).toBe(false);
  });

  it('has no admin route unless enabled', async () => {
    const res = await post('/admin/reload', { runDir: tmp });
    expect(res.status).toBe(404);
  });
});

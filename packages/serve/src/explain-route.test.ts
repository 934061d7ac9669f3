import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Row } from '@tfpipe/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeIrisRun } from './__fixtures__/iris-run.js';
import { createServer, type PredictionServer } from './server.js';

let tmp: string;
let test: Row[];
let server: PredictionServer;
let url: string;

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const post = (path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-explain-'));
  ({ test } = await makeIrisRun(join(tmp, 'run'), { seed: 1 }));
  server = await createServer(join(tmp, 'run'), { port: 0, explainMaxSteps: 40 });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

interface Explained {
  predicted: string;
  target: string;
  columns: Record<string, number>;
  output: number;
  baselineOutput: number;
  gap: number;
}

describe('POST /explain', () => {
  it('attributions per column for a record, for the class /predict gives; they add up to f(x) − f(baseline)', async () => {
    const record = features(test[0]!);
    const res = await post('/explain', record);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { explanation: Explained; steps: number };
    const pred = (await (await post('/predict', record)).json()) as { prediction: { label: string } };
    expect(body.explanation.predicted).toBe(pred.prediction.label);
    expect(body.explanation.target).toBe(pred.prediction.label);
    expect(Object.keys(body.explanation.columns).sort()).toEqual(['petal_length', 'petal_width', 'sepal_length', 'sepal_width']);
    const sum = Object.values(body.explanation.columns).reduce((a, v) => a + v, 0);
    // Up to the completeness gap the answer reports (40 steps here).
    const change = body.explanation.output - body.explanation.baselineOutput;
    expect(Math.abs(sum - change)).toBeLessThanOrEqual(body.explanation.gap * Math.abs(change) + 1e-5);
    expect(body.explanation.gap).toBeLessThan(0.02);
    expect(body.steps).toBe(40);
  });

  it('several instances; steps beyond the cap are capped and the answer says so; no tensors left behind', async () => {
    const before = tf.memory().numTensors;
    const res = await post('/explain?steps=5000', { instances: test.slice(0, 3).map(features) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { explanations: Explained[]; steps: number; capped: boolean };
    expect(body.explanations).toHaveLength(3);
    expect(body.steps).toBe(40);
    expect(body.capped).toBe(true);
    await post('/explain', features(test[1]!));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates like /predict (400 naming the field) and rejects unknown methods', async () => {
    const missing = await post('/explain', { sepal_length: 5, sepal_width: 3, petal_length: 1 });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).toContain('petal_width');
    const bad = await post('/explain?methods=shap', features(test[0]!));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/shap.*integrated-gradients/);
  });

  it('beyond the concurrency limit the answer is 503 (limit 0: turned off)', async () => {
    const off = await createServer(join(tmp, 'run'), { port: 0, explainConcurrency: 0 });
    const offUrl = await off.listen();
    try {
      const res = await fetch(`${offUrl}/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(test[0]!)) });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_BUSY');
    } finally {
      await off.close();
    }
  });
});

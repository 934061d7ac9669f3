import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedRun, loadRun } from '@tfpipe/pipeline';
import type { Row } from '@tfpipe/data';
import { irisRows, makeIrisRun } from './__fixtures__/iris-run.js';
import { predictFile, type PredictLine } from './predict-file.js';
import { RunHolder } from './run-holder.js';
import { createServer } from './server.js';

type Pred = { label: string; probabilities: Record<string, number> };
let tmp: string;
let a: LoadedRun;
let b: LoadedRun;
let test: Row[];

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const close = (x: Pred, y: Pred) => Object.entries(y.probabilities).every(([k, p]) => Math.abs(x.probabilities[k]! - p) < 1e-6);

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-reload-'));
  ({ test } = await makeIrisRun(join(tmp, 'a'), { seed: 1, epochs: 30, name: 'iris-a' }));
  await makeIrisRun(join(tmp, 'b'), { seed: 9, epochs: 3, name: 'iris-b' });
  a = await loadRun(join(tmp, 'a'));
  b = await loadRun(join(tmp, 'b'));
});

afterAll(async () => {
  a?.model.dispose();
  b?.model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('hot reload', () => {
  it('swaps the run under load without dropping a request, then disposes the old model', async () => {
    const server = await createServer(join(tmp, 'a'), { port: 0, admin: true, maxBatch: 4, batchWaitMs: 1 });
    const url = await server.listen();
    const oldRun = server.run;
    const wantA = (await a.predict(test)) as Pred[];
    const wantB = (await b.predict(test)) as Pred[];
    try {
      const tensorsBefore = tf.memory().numTensors;
      const inflight = test.map((r) => fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(r)) }));
      const reload = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runDir: join(tmp, 'b') }) });
      expect(await reload.json()).toEqual({ reloaded: true, model: 'iris-b', runDir: join(tmp, 'b') });
      const answers = await Promise.all(inflight);
      expect(answers.map((r) => r.status)).toEqual(test.map(() => 200));
      const preds = await Promise.all(answers.map(async (r) => ((await r.json()) as { prediction: Pred }).prediction));
      // Each in-flight request was answered by one whole model, A or B, never a mix.
      for (const [i, p] of preds.entries()) expect(close(p, wantA[i]!) || close(p, wantB[i]!)).toBe(true);
      // New requests go to B; A's weights were disposed once its requests finished.
      const after = (await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: test }) })).json()) as { predictions: Pred[] };
      for (const [i, p] of after.predictions.entries()) expect(close(p, wantB[i]!)).toBe(true);
      expect(() => oldRun.model.weights[0]!.read()).toThrow(/disposed/);
      expect(tf.memory().numTensors).toBe(tensorsBefore); // A's weights out, B's in: same architecture
      expect((await (await fetch(`${url}/health`)).json()) as { model: string }).toMatchObject({ model: 'iris-b' });

      // A bad run directory is a 400 and the server keeps serving B.
      const bad = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runDir: join(tmp, 'nope') }) });
      expect(bad.status).toBe(400);
      const typo = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rundir: 'x' }) });
      expect(((await typo.json()) as { error: { issues: { message: string }[] } }).error.issues[0]!.message).toContain('did you mean "runDir"');
      expect(server.run.metadata.name).toBe('iris-b');
      expect((await fetch(`${url}/metrics`).then((r) => r.text())).includes('tfpipe_serve_reloads_total 1')).toBe(true);
    } finally {
      await server.close();
    }
    expect(() => server.run.model.weights[0]!.read()).toThrow(/disposed/);
  });

  it('RunHolder keeps a retired run alive until its last lease is released', () => {
    const disposed: string[] = [];
    const fake = (dir: string) => ({ dir }) as unknown as LoadedRun;
    const holder = new RunHolder(fake('a'), null, { dispose: (r) => disposed.push(r.dir) });
    const l1 = holder.acquire();
    const l2 = holder.acquire();
    holder.swap(fake('b'), null);
    expect(holder.current.run.dir).toBe('b');
    l1.release();
    l1.release(); // idempotent
    expect(disposed).toEqual([]);
    l2.release();
    expect(disposed).toEqual(['a']);
    holder.swap(fake('c'), null); // b had no leases: disposed at once
    expect(disposed).toEqual(['a', 'b']);
  });
});

describe('predictFile on records', () => {
  it('streams a CSV and a JSONL file through the run, like LoadedRun.predict, and names missing columns', async () => {
    const rows = irisRows().slice(0, 25);
    const header = 'sepal_length,sepal_width,petal_length,petal_width,species';
    await writeFile(join(tmp, 'in.csv'), `${header}\n${rows.map((r) => [r.sepal_length, r.sepal_width, r.petal_length, r.petal_width, r.species].join(',')).join('\n')}\n`);
    await writeFile(join(tmp, 'in.jsonl'), rows.map((r) => JSON.stringify(features(r))).join('\n'));
    const want = (await a.predict(rows)) as Pred[];
    for (const file of ['in.csv', 'in.jsonl']) {
      const lines: PredictLine[] = [];
      const out = await predictFile(a, { input: join(tmp, file), batchSize: 10, write: (l) => void lines.push(l) });
      expect(out.rows).toBe(25);
      expect(lines.map((l) => l.row)).toEqual(rows.map((_, i) => i));
      for (const [i, l] of lines.entries()) expect(close(l as unknown as Pred, want[i]!)).toBe(true);
    }
    await writeFile(join(tmp, 'bad.csv'), 'sepal_length,sepal_width,petal_lenght,petal_width\n1,2,3,4\n');
    await expect(predictFile(a, { input: join(tmp, 'bad.csv'), batchSize: 10, write: () => {} })).rejects.toThrow(/petal_length.*did you mean "petal_lenght"/s);
    await expect(predictFile(a, { input: join(tmp, 'in.parquet'), batchSize: 10, write: () => {} })).rejects.toThrow(/no such file/);
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      await expect(predictFile(a, { input: join(tmp, 'in.csv'), batchSize, write: () => {} })).rejects.toThrow(/--batch-size: received .*; expected a whole number >= 1/);
    }
    await writeFile(join(tmp, 'in.parquet'), 'x');
    await expect(predictFile(a, { input: join(tmp, 'in.parquet'), batchSize: 10, write: () => {} })).rejects.toThrow(/cannot tell the format/);
  });
});

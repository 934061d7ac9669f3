import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTfpipeError, writeJsonAtomic } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';
import { makeIrisRun } from './__fixtures__/iris-run.js';
import { loadServedRun } from './load-run.js';
import { PRODUCTION_FILE, PRODUCTION_HISTORY, promote, readProduction } from './production.js';
import { createServer } from './server.js';

type Pred = { label: string; probabilities: Record<string, number> };
let tmp: string;
let runs: string;
let test: Row[];

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const same = (x: Pred, y: Pred) => Object.entries(y.probabilities).every(([k, p]) => Math.abs(x.probabilities[k]! - p) < 1e-6);

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-prod-'));
  runs = join(tmp, 'runs');
  ({ test } = await makeIrisRun(join(runs, 'iris-a', 'model'), { seed: 1, epochs: 30, name: 'iris-a' }));
  await makeIrisRun(join(runs, 'iris-b', 'model'), { seed: 9, epochs: 3, name: 'iris-b' });
  await makeIrisRun(join(tmp, 'elsewhere', 'model'), { seed: 4, epochs: 1 });
  await cp(join(runs, 'iris-b'), join(runs, 'iris-broken'), { recursive: true });
  await writeFile(join(runs, 'iris-broken', 'model', 'metadata.json'), '{"name": "iris-broken"}');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('promote', () => {
  it('writes the pointer atomically after checking the run, records the parent, and refuses runs it could not serve', async () => {
    await expect(readProduction(runs)).rejects.toThrow(/no readable production pointer/);
    const first = await promote(runs, join(runs, 'iris-a'), { reason: 'first model' });
    expect(first).toMatchObject({ run: 'iris-a', reason: 'first model', parent: null });
    expect(JSON.parse(await readFile(join(runs, PRODUCTION_FILE), 'utf8'))).toEqual(first);
    const read = await readProduction(runs);
    expect(read.pointer).toEqual(first);
    expect(read.runDir.endsWith(join('runs', 'iris-a'))).toBe(true);

    const outside = await promote(runs, join(tmp, 'elsewhere')).catch((e: unknown) => e);
    expect(isTfpipeError(outside, 'E_USAGE')).toBe(true);
    const broken = await promote(runs, join(runs, 'iris-broken')).catch((e: unknown) => e);
    expect(isTfpipeError(broken, 'E_MODEL')).toBe(true);
    expect((broken as Error).message).toContain('model/metadata.json');
    expect((await readProduction(runs)).pointer.run).toBe('iris-a'); // unchanged by the refusals

    const history = (await readFile(join(runs, PRODUCTION_HISTORY), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { run: string });
    expect(history.map((h) => h.run)).toEqual(['iris-a']);
  });
});

describe('pipeline serve --production', () => {
  it('swaps to a promoted run under steady load with no failed request; answers after the swap come from the new run', async () => {
    await promote(runs, join(runs, 'iris-a'), { reason: 'baseline' });
    const a = await loadServedRun(join(runs, 'iris-a'));
    const b = await loadServedRun(join(runs, 'iris-b'));
    const wantA = (await a.predict(test)) as Pred[];
    const wantB = (await b.predict(test)) as Pred[];
    a.model.dispose();
    b.model.dispose();
    const tensorsBefore = tf.memory().numTensors;
    const server = await createServer(undefined, { port: 0, production: runs, productionPollMs: 50, maxBatch: 4, batchWaitMs: 1 });
    const url = await server.listen();
    const oldModel = server.run.model;
    const failures: string[] = [];
    let served = 0;
    let swapSeen = false;
    const afterSwap: { run: string; i: number; pred: Pred }[] = [];
    try {
      const meta = async () => (await (await fetch(`${url}/metadata`)).json()) as { run: string; production: { run: string; reason: string; parent: string | null } };
      expect((await meta()).run).toBe('iris-a');

      // Steady load: 6 clients, each looping until the swap has been seen and then 10 more requests.
      const client = async (c: number) => {
        let extra = 0;
        for (let n = 0; extra < 10; n++) {
          const i = (c * 7 + n) % test.length;
          const seenBefore = swapSeen;
          const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(test[i]!)) });
          const text = await res.text();
          served++;
          if (res.status !== 200) {
            failures.push(`${res.status} ${text}`);
            continue;
          }
          const { prediction } = JSON.parse(text) as { prediction: Pred };
          const run = res.headers.get('x-tfpipe-run')!;
          if (!(run === 'iris-a' ? same(prediction, wantA[i]!) : run === 'iris-b' && same(prediction, wantB[i]!))) failures.push(`row ${i}: an answer from neither run whole (${run})`);
          if (seenBefore) {
            afterSwap.push({ run, i, pred: prediction });
            extra++;
          }
        }
      };
      const clients = Array.from({ length: 6 }, (_, c) => client(c));
      // Promote B once the load is running; watch /metadata until it names B.
      while (served < 30) await new Promise((r) => setTimeout(r, 5));
      await promote(runs, join(runs, 'iris-b'), { reason: 'beats production' });
      for (;;) {
        const m = await meta();
        if (m.run === 'iris-b') {
          expect(m.production).toMatchObject({ run: 'iris-b', reason: 'beats production', parent: 'iris-a' });
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      swapSeen = true;
      await Promise.all(clients);

      expect(failures).toEqual([]);
      expect(afterSwap.length).toBe(60);
      expect(afterSwap.every((x) => x.run === 'iris-b' && same(x.pred, wantB[x.i]!))).toBe(true);
      expect(() => oldModel.weights[0]!.read()).toThrow(/disposed/); // A disposed once its requests ended
      expect(tf.memory().numTensors).toBe(tensorsBefore + server.run.model.weights.length);

      // A pointer to a run that cannot be loaded: the server keeps serving B and counts the failure.
      await writeJsonAtomic(join(runs, PRODUCTION_FILE), { run: 'iris-broken', promotedAt: new Date().toISOString(), parent: 'iris-b' });
      for (;;) {
        const text = await (await fetch(`${url}/metrics`)).text();
        if (/tfpipe_serve_reload_failures_total [1-9]/.test(text)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await meta()).run).toBe('iris-b');
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(features(test[0]!)) });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-tfpipe-run')).toBe('iris-b');
      // Promoting A again swaps back.
      await promote(runs, join(runs, 'iris-a'), { reason: 'rollback' });
      while ((await meta()).run !== 'iris-a') await new Promise((r) => setTimeout(r, 5));
    } finally {
      await server.close();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

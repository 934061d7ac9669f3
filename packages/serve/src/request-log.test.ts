import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '@tfpipe/data';
import { makeIrisRun } from './__fixtures__/iris-run.js';
import { type FeedbackLine, type RequestLine, RequestLog } from './request-log.js';
import { createServer } from './server.js';

let tmp: string;
let test: Row[];

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function lines<T>(dir: string, prefix: string): Promise<{ files: string[]; rows: T[] }> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(`${prefix}-`)).sort();
  const rows: T[] = [];
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const l of text.split('\n')) if (l) rows.push(JSON.parse(l) as T);
  }
  return { files, rows };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-log-'));
  ({ test } = await makeIrisRun(join(tmp, 'runs', 'iris-1', 'model'), { seed: 1 }));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pipeline serve --log', () => {
  it('writes each logged row in the drift contract, rotates segments, and takes feedback only for logged ids', async () => {
    const dir = join(tmp, 'log');
    const server = await createServer(join(tmp, 'runs', 'iris-1'), { port: 0, log: { dir, segmentRows: 4 } });
    const url = await server.listen();
    const answers: { id: string; records: Record<string, unknown>[]; preds: unknown[] }[] = [];
    try {
      for (const r of test.slice(0, 5)) {
        const res = await fetch(`${url}/predict`, json(features(r)));
        answers.push({ id: res.headers.get('x-request-id')!, records: [features(r)], preds: [((await res.json()) as { prediction: unknown }).prediction] });
      }
      const many = await fetch(`${url}/predict`, { ...json({ instances: test.slice(5, 8) }), headers: { 'content-type': 'application/json', 'x-request-id': 'client-batch-7' } });
      expect(many.headers.get('x-request-id')).toBe('client-batch-7');
      answers.push({ id: 'client-batch-7', records: test.slice(5, 8).map(features), preds: ((await many.json()) as { predictions: unknown[] }).predictions });
      expect((await fetch(`${url}/predict`, json({ sepal_length: 'x' }))).status).toBe(400); // not logged
      await server.flushLog();

      const { files, rows } = await lines<RequestLine>(dir, 'requests');
      expect(files).toEqual(['requests-000001.jsonl', 'requests-000002.jsonl']); // 8 rows, 4 per segment
      const want = answers.flatMap((a) => a.records.map((rec, i) => ({ id: `${a.id}#${i}`, inputs: rec, prediction: a.preds[i], run: 'iris-1' })));
      expect(rows.map(({ id, inputs, prediction, run }) => ({ id, inputs, prediction, run }))).toEqual(want);
      for (const r of rows) {
        expect(Object.keys(r)).toEqual(['id', 'time', 'run', 'inputs', 'prediction']);
        expect(new Date(r.time).toISOString()).toBe(r.time);
      }
      expect(new Set(rows.map((r) => r.id)).size).toBe(8);

      // Feedback: a logged id is recorded; an unknown id is a 404; a label of the wrong type is a 400 naming it.
      const fb = await fetch(`${url}/feedback`, json({ id: `${answers[0]!.id}#0`, label: 'setosa' }));
      expect(fb.status).toBe(200);
      expect(await fb.json()).toEqual({ recorded: true, id: `${answers[0]!.id}#0` });
      expect((await fetch(`${url}/feedback`, json({ id: 'client-batch-7#2', label: 'virginica' }))).status).toBe(200);
      const unknown = await fetch(`${url}/feedback`, json({ id: 'client-batch-7#3', label: 'setosa' }));
      expect(unknown.status).toBe(404);
      expect(await unknown.text()).toContain('client-batch-7#3');
      const badLabel = await fetch(`${url}/feedback`, json({ id: 'client-batch-7#0', label: 3 }));
      expect(badLabel.status).toBe(400);
      expect(await badLabel.text()).toContain('label');
      const typo = await fetch(`${url}/feedback`, json({ id: 'client-batch-7#0', lable: 'setosa' }));
      expect(typo.status).toBe(400);
      expect(await typo.text()).toContain('did you mean \\"label\\"');
      await server.flushLog();
      const feedback = await lines<FeedbackLine>(dir, 'feedback');
      expect(feedback.files).toEqual(['feedback-000001.jsonl']);
      expect(feedback.rows.map(({ id, label }) => ({ id, label }))).toEqual([
        { id: `${answers[0]!.id}#0`, label: 'setosa' },
        { id: 'client-batch-7#2', label: 'virginica' },
      ]);
      expect(Object.keys(feedback.rows[0]!)).toEqual(['id', 'label', 'time']);
      const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, { required?: string[] }> } };
      expect(doc.paths['/feedback']).toBeDefined();
      expect(doc.components.schemas.FeedbackRequest!.required).toEqual(['id', 'label']);
    } finally {
      await server.close();
    }

    // A restarted server continues the sequence and still knows the ids logged before.
    const again = await createServer(join(tmp, 'runs', 'iris-1'), { port: 0, log: { dir, segmentRows: 4 } });
    const url2 = await again.listen();
    try {
      expect((await fetch(`${url2}/feedback`, json({ id: 'client-batch-7#1', label: 'versicolor' }))).status).toBe(200);
      await fetch(`${url2}/predict`, json(features(test[9]!)));
      await again.flushLog();
      expect((await lines(dir, 'requests')).files).toEqual(['requests-000001.jsonl', 'requests-000002.jsonl', 'requests-000003.jsonl']);
      expect((await lines(dir, 'feedback')).files).toEqual(['feedback-000001.jsonl', 'feedback-000002.jsonl']);
    } finally {
      await again.close();
    }
  });

  it('logs a sample of requests at the configured rate', async () => {
    const dir = join(tmp, 'sampled');
    const server = await createServer(join(tmp, 'runs', 'iris-1'), { port: 0, log: { dir, sample: 0.25 } });
    const url = await server.listen();
    try {
      for (let i = 0; i < 200; i++) await fetch(`${url}/predict`, json(features(test[i % test.length]!))).then((r) => r.json());
      await server.flushLog();
      const { rows } = await lines<RequestLine>(dir, 'requests');
      // Binomial(200, 0.25): mean 50, sd 6.1; 19..81 is more than 5 sd either side.
      expect(rows.length).toBeGreaterThan(19);
      expect(rows.length).toBeLessThan(81);
    } finally {
      await server.close();
    }
  });

  it('keeps lines whose write failed and writes them at the next flush; recovers a segment left open by a crash', async () => {
    const dir = join(tmp, 'flaky');
    const log = await RequestLog.open({ dir, segmentRows: 10 });
    log.logRequest('r1', 'run', [{ x: 1 }], [{ value: 1 }], ['x']);
    await rm(dir, { recursive: true });
    await writeFile(dir, 'a file where the folder was: the write fails');
    await log.flush();
    expect(log.stats().writeFailures).toBe(1);
    log.logRequest('r2', 'run', [{ x: 2 }], [{ value: 2 }], ['x']);
    await rm(dir);
    await log.close();
    const { rows } = await lines<RequestLine>(dir, 'requests');
    expect(rows.map((r) => r.id)).toEqual(['r1#0', 'r2#0']);

    // A segment a crash left open: its whole lines become a segment at the next start, the torn one is dropped.
    await writeFile(join(dir, '.requests-000002.jsonl.partial'), '{"id":"r3#0","time":"t","run":"run","inputs":{},"prediction":{}}\n{"id":"r4#0","ti');
    const reopened = await RequestLog.open({ dir, segmentRows: 10 });
    expect(reopened.knows('r3#0')).toBe(true);
    expect(reopened.knows('r4#0')).toBe(false);
    reopened.logRequest('r5', 'run', [{ x: 5 }], [{ value: 5 }], ['x']);
    await reopened.close();
    const after = await lines<RequestLine>(dir, 'requests');
    expect(after.files).toEqual(['requests-000001.jsonl', 'requests-000002.jsonl', 'requests-000003.jsonl']);
    expect(after.rows.map((r) => r.id)).toEqual(['r1#0', 'r2#0', 'r3#0', 'r5#0']);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTfpipeError } from '@tfpipe/core';
import { loadRun } from '@tfpipe/pipeline';
import type { Row } from '@tfpipe/data';
import { makeIrisRun } from './__fixtures__/iris-run.js';
import { loadServedRun } from './load-run.js';
import { createServer, isLoopbackHost } from './server.js';

let tmp: string;
let runs: string;
let outside: string;
let test: Row[];

const features = (r: Row) => ({ sepal_length: r.sepal_length, sepal_width: r.sepal_width, petal_length: r.petal_length, petal_width: r.petal_width });
const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** A copy of run `a` (a run folder with its model/) under `runs/<name>`, with one model file rewritten. */
async function brokenCopy(name: string, file: string, edit: (value: Record<string, unknown>) => void): Promise<string> {
  const dir = join(runs, name);
  await cp(join(runs, 'a'), dir, { recursive: true });
  const path = join(dir, 'model', file);
  const value = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(path, JSON.stringify(value));
  return dir;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-serve-hard-'));
  runs = join(tmp, 'runs');
  outside = join(tmp, 'outside');
  ({ test } = await makeIrisRun(join(runs, 'a', 'model'), { seed: 1, epochs: 5 }));
  await makeIrisRun(join(outside, 'secret-run', 'model'), { seed: 2, epochs: 1 });
  await makeIrisRun(join(runs, 'sub', 'b', 'model'), { seed: 3, epochs: 1, name: 'iris-b' });
  await symlink(join(outside, 'secret-run'), join(runs, 'link-out'));
  await brokenCopy('escape', 'model.json', (m) => {
    (m.weightsManifest as { paths: string[] }[])[0]!.paths = ['../../../outside/secret-run/model/weights.bin'];
  });
  await brokenCopy('absolute', 'model.json', (m) => {
    (m.weightsManifest as { paths: string[] }[])[0]!.paths = [join(outside, 'secret-run/model/weights.bin')];
  });
  const linked = await brokenCopy('linked-weights', 'model.json', () => {});
  await rm(join(linked, 'model', 'weights.bin'));
  await symlink(join(outside, 'secret-run/model/weights.bin'), join(linked, 'model', 'weights.bin'));
  await brokenCopy('bad-task', 'metadata.json', (m) => {
    m.task = { kind: 'clustering' };
  });
  await brokenCopy('bad-columns', 'metadata.json', (m) => {
    m.rawColumns = [{ name: 'image', kind: 'image', shape: [28, 28] }];
  });
  await brokenCopy('bad-preprocess', 'preprocess.json', (p) => {
    p.format = 'something-else';
  });
  await brokenCopy('bad-transform', 'preprocess.json', (p) => {
    (p.transforms as { config: Record<string, unknown> }[])[0]!.config.type = 'standardise';
  });
  // Weights that fit the byte count but not the model: the model is built, then refused, then disposed.
  await brokenCopy('wrong-weights', 'model.json', (m) => {
    const w = (m.weightsManifest as { weights: { name: string }[] }[])[0]!.weights;
    w[0]!.name = 'not_a_layer/kernel';
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('loading a run for serving', () => {
  it('refuses weight paths that leave the model folder, invalid metadata and preprocessing, naming the file, and leaves no tensor behind', async () => {
    const cases: [string, RegExp][] = [
      ['escape', /model\/model\.json.*weightsManifest\[0\]\.paths\[0\].*inside the model folder/s],
      ['absolute', /model\/model\.json.*inside the model folder/s],
      ['linked-weights', /model\/model\.json.*inside the model folder/s],
      ['bad-task', /model\/metadata\.json.*task\.kind/s],
      ['bad-columns', /model\/metadata\.json.*rawColumns\[0\]\.shape.*image column/s],
      ['bad-preprocess', /model\/preprocess\.json.*format/s],
      ['bad-transform', /model\/preprocess\.json.*standardise/s],
      ['wrong-weights', /model\/model\.json.*weights do not fit the model/s],
    ];
    const before = tf.memory().numTensors;
    for (const [name, pattern] of cases) {
      const e = await loadServedRun(join(runs, name)).catch((err: unknown) => err);
      expect(isTfpipeError(e, 'E_MODEL'), name).toBe(true);
      expect((e as Error).message, name).toMatch(pattern);
      expect((e as Error).message, name).not.toContain(tmp);
      expect(tf.memory().numTensors, name).toBe(before);
    }
    // A good run loads, and predicts exactly like the pipeline's own loadRun.
    const served = await loadServedRun(join(runs, 'a'));
    const reference = await loadRun(join(runs, 'a'));
    expect(await served.predict(test)).toEqual(await reference.predict(test));
    served.model.dispose();
    reference.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('POST /admin/reload', () => {
  it('loads only runs inside the runs root, answers every refusal alike without a path, and a failed reload leaks nothing', async () => {
    const server = await createServer(join(runs, 'a'), { port: 0, admin: true, runsRoot: runs });
    const url = await server.listen();
    try {
      const reload = (runDir: string) => fetch(`${url}/admin/reload`, json({ runDir }));
      const refusals = [join(outside, 'secret-run'), '../outside/secret-run', 'link-out', 'does-not-exist', join(tmp, 'nope'), '/etc', '.', ''];
      const bodies = new Set<string>();
      for (const dir of refusals) {
        const res = await reload(dir);
        expect(res.status, dir).toBe(400);
        const text = await res.text();
        expect(text, dir).not.toContain(tmp);
        if (dir !== '') bodies.add(text); // '' fails the body schema instead (min length)
      }
      expect(bodies.size).toBe(1); // existing or not, outside or missing: the same answer
      expect([...bodies][0]).toContain('not a run directory under the server\'s runs root');

      // Invalid runs inside the root: a 400 naming the file relative to the run; the tensor count does not move.
      const before = tf.memory().numTensors;
      for (const name of ['escape', 'bad-task', 'wrong-weights', 'bad-transform']) {
        const res = await reload(name);
        const text = await res.text();
        expect({ name, status: res.status }).toEqual({ name, status: 400 });
        expect(text, name).toMatch(/model\/(model|metadata|preprocess)\.json/);
        expect(text, name).not.toContain(tmp);
      }
      expect(tf.memory().numTensors).toBe(before);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('tfpipe_serve_reload_failures_total 4');
      expect((await fetch(`${url}/predict`, json(features(test[0]!)))).status).toBe(200);

      // No answer carries the server's paths.
      for (const path of ['/health', '/metadata', '/metrics', '/openapi.json']) {
        expect(await (await fetch(`${url}${path}`)).text(), path).not.toContain(tmp);
      }
      const meta = (await (await fetch(`${url}/metadata`)).json()) as { run: string; runDir: string };
      expect(meta).toMatchObject({ run: 'a', runDir: 'a' });
    } finally {
      await server.close();
    }
  });

  it('requires a token beyond loopback, and checks it when one is set', async () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', '127.0.0.1.example.com']) expect(isLoopbackHost(h), h).toBe(false);
    const e = await createServer(join(runs, 'a'), { port: 0, host: '0.0.0.0', admin: true }).catch((err: unknown) => err);
    expect(isTfpipeError(e, 'E_CONFIG')).toBe(true);
    expect((e as Error).message).toMatch(/adminToken: required .*0\.0\.0\.0/);
    const token = 'a-long-enough-test-token';
    const server = await createServer(join(runs, 'a'), { port: 0, admin: true, adminToken: token });
    const url = await server.listen();
    try {
      const res = (headers: Record<string, string>) => fetch(`${url}/admin/reload`, json({}, headers));
      const none = await res({});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await res({ authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
      expect((await res({ authorization: token })).status).toBe(401);
      const ok = await res({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ reloaded: true, model: 'iris-mlp', runDir: 'a' });
    } finally {
      await server.close();
    }
  });
});

describe('runs in sub-folders of the root', () => {
  it('are named relative to the root, in the answer and in /metadata', async () => {
    const server = await createServer(join(runs, 'a'), { port: 0, admin: true });
    const url = await server.listen();
    try {
      const res = await fetch(`${url}/admin/reload`, json({ runDir: 'sub/b' }));
      expect(await res.json()).toEqual({ reloaded: true, model: 'iris-b', runDir: 'sub/b' });
      expect((await (await fetch(`${url}/metadata`)).json()) as { run: string; runDir: string }).toMatchObject({ run: 'b', runDir: 'sub/b' });
    } finally {
      await server.close();
    }
  });
});

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, bin, pipeline, repo } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const iris = join(repo, 'examples/iris-mlp/iris.csv');
let tmp: string;
let runDir: string;

interface Line {
  row: number;
  label: string;
  probabilities: Record<string, number>;
}
const lines = async (p: string) =>
  (await readFile(p, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-onnx-'));
  runDir = join(tmp, 'iris');
  const r = await pipeline(['run', join(here, 'fixtures', 'iris.yaml'), '--out', runDir, '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pipeline export --format onnx, and predict with onnxruntime', () => {
  it('writes model.onnx and onnx.json beside the model', async () => {
    const r = await pipeline(['export', runDir, '--format', 'onnx']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exported e2e-iris to .*model\.onnx: \d+ nodes, opset 13/);
    expect(existsSync(join(runDir, 'model', 'model.onnx'))).toBe(true);
    const side = JSON.parse(await readFile(join(runDir, 'model', 'onnx.json'), 'utf8')) as { inputs: { shape: number[] }[]; labels: string[] };
    expect(side.inputs[0]!.shape).toEqual([-1, 4]);
    expect(side.labels).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('onnxruntime and tfjs give the same classes and probabilities within 1e-4 on every iris row', async () => {
    const a = join(tmp, 'ort.jsonl');
    const b = join(tmp, 'tfjs.jsonl');
    const ort = await pipeline(['predict', runDir, '--input', iris, '--output', a, '--engine', 'onnxruntime']);
    expect(ort.code, ort.stderr).toBe(0);
    expect(ort.stderr).toContain('engine: onnxruntime');
    const tfjs = await pipeline(['predict', runDir, '--input', iris, '--output', b, '--engine', 'tfjs']);
    expect(tfjs.code, tfjs.stderr).toBe(0);
    const [x, y] = [await lines(a), await lines(b)];
    expect(x).toHaveLength(150);
    x.forEach((l, i) => {
      expect(l.label).toBe(y[i]!.label);
      for (const [k, p] of Object.entries(l.probabilities)) expect(Math.abs(p - y[i]!.probabilities[k]!)).toBeLessThan(1e-4);
    });
  });

  it('--engine onnxruntime without onnxruntime-node is exit 2 with the install command; auto falls back to tfjs', async () => {
    const env = { ...process.env, TFPIPE_ONNXRUNTIME_MODULE: 'onnxruntime-node-that-is-not-installed' };
    const run = (engine: string) =>
      node([bin, 'predict', runDir, '--input', iris, '--output', join(tmp, `${engine}.jsonl`), '--engine', engine], repo, env);
    const forced = await run('onnxruntime');
    expect(forced.code).toBe(2);
    expect(forced.stderr).toMatch(/onnxruntime-node is not installed/);
    expect(forced.stderr).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node/);
    const auto = await run('auto');
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toContain('engine: tfjs (onnxruntime-node is not installed)');
  });
});

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, repo } from './helpers.js';

const fixture = (name: string) => resolve(repo, 'packages/cli/test/fixtures', name);
let dir: string;
let runDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-cli-explain-'));
  runDir = join(dir, 'run');
  const r = await pipeline(['run', fixture('mnist-explain.yaml'), '--out', runDir, '--no-progress']);
  if (r.code !== 0) throw new Error(`pipeline run failed (${r.code}):\n${r.stderr}`);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('explain (CLI, MNIST slice)', () => {
  it('a run with explain: writes explanation.json and heat-map overlays in report.html', async () => {
    const explanation = JSON.parse(await readFile(join(runDir, 'explanation.json'), 'utf8'));
    expect(explanation.examples).toHaveLength(4);
    for (const ex of explanation.examples) {
      expect(ex.images.image.shape).toEqual([28, 28, 1]);
      expect(ex.images.image.attribution).toHaveLength(784);
      expect(ex.images.image.gradCam).toHaveLength(784);
      expect(ex.gap).toBeLessThan(0.05);
    }
    const html = await readFile(join(runDir, 'report.html'), 'utf8');
    expect(html).toContain('id="explain"');
    expect(html.match(/alt="Grad-CAM"/g)).toHaveLength(4);
  });

  it('pipeline explain <run> --input <pipeline.yaml> writes explanations.jsonl and the heat maps as PNGs', async () => {
    const out = join(dir, 'out-file');
    const r = await pipeline(['explain', runDir, '--input', fixture('mnist-explain.yaml'), '--out', out, '--examples', '2', '--steps', '16']);
    expect(r.code, r.stderr).toBe(0);
    const lines = (await readFile(join(out, 'explanations.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!).images.image.attribution).toHaveLength(784);
    const pngs = (await readdir(join(out, 'images'))).sort();
    expect(pngs.filter((p) => p.endsWith('-image-ig.png'))).toHaveLength(2);
    expect(pngs.filter((p) => p.endsWith('-image-gradcam.png'))).toHaveLength(2);
  });

  it('a bad --methods value is a usage error naming what is allowed', async () => {
    const r = await pipeline(['explain', runDir, '--input', fixture('mnist-explain.yaml'), '--out', join(dir, 'bad'), '--methods', 'shap']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/explain\.methods\[0\].*"shap".*"permutation" \| "integrated-gradients" \| "grad-cam"/);
  });
});

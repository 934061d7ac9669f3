import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, spawnResult } from './helpers.js';

// `pnpm pipeline` works from any folder of the workspace, with paths relative to that folder (the root package
// links tools/pipeline-bin as node_modules/.bin/pipeline; the root script passes INIT_CWD on).
let tmp: string;
beforeAll(async () => {
  // Inside the repository (runs/ is gitignored), so that the relative path crosses folders of the workspace.
  await mkdir(join(repo, 'runs'), { recursive: true });
  tmp = await mkdtemp(join(repo, 'runs', '.anywhere-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('pnpm pipeline from a subfolder', () => {
  it('runs the CLI in an example folder, resolving a relative config path there', async () => {
    const r = await spawnResult('pnpm', ['pipeline', 'validate', 'pipeline.yaml'], join(repo, 'examples/iris-mlp'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pipeline\.yaml: valid/m);
  }, 300_000);

  it('the root script (pnpm -w pipeline) also resolves paths from where the user stands', async () => {
    const r = await spawnResult('pnpm', ['-s', '-w', 'pipeline', 'validate', 'pipeline.yaml'], join(repo, 'examples/iris-logistic'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pipeline\.yaml: valid/m);
  }, 300_000);

  it('writes a relative --out under the folder the user is in', async () => {
    const out = join(tmp, 'schema.json');
    const r = await spawnResult('pnpm', ['pipeline', 'schema', '--out', relative(join(repo, 'packages/cli'), out)], join(repo, 'packages/cli'));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toHaveProperty('properties');
  }, 300_000);
});

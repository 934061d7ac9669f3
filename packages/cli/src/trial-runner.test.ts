import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { absolutizeDataPaths } from '@tfpipe/pipeline';
import type { Trial } from '@tfpipe/distributed';
import { runTrial } from './trial-runner.js';

const fixtures = resolve(import.meta.dirname, '../test/fixtures');
let dir: string;
let config: unknown;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-trial-'));
  const raw = parse(await readFile(join(fixtures, 'iris.yaml'), 'utf8')) as Record<string, unknown>;
  config = absolutizeDataPaths({ ...raw, train: { ...(raw.train as object), epochs: 2 } }, fixtures);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const trial = (id: string): Trial => ({ id, index: 0, point: 0, params: {}, overrides: {}, config, seed: 7 });

describe('runTrial (the sweep trial runner)', () => {
  it('reports the best epoch figures and test metrics, and leaks no tensors across trials', async () => {
    const out = await runTrial(trial('t0'), { runDir: join(dir, 't0'), signal: new AbortController().signal });
    // Three balanced iris classes: answering one class scores 0.33; two epochs of this MLP reach about 0.83.
    expect(out.metrics.val_accuracy).toBeGreaterThan(0.6);
    expect(out.metrics.val_accuracy).toBeLessThanOrEqual(1);
    expect(out.metrics.test_accuracy).toBeGreaterThan(0.6);
    expect(out.runDir).toBe(join(dir, 't0', 'run'));
    let i = 1;
    await expectNoLeakedTensors(async () => {
      await runTrial(trial(`t${i}`), { runDir: join(dir, `t${i++}`), signal: new AbortController().signal });
    }, 2);
  }, 300_000);

  it("runs a trial whose config names plugins (absolute paths, as a sweep hands them out): the plugin's types build and train", async () => {
    const raw = parse(await readFile(join(fixtures, 'plugin', 'rings.yaml'), 'utf8')) as Record<string, unknown>;
    const withPlugins = absolutizeDataPaths({ ...raw, train: { ...(raw.train as object), epochs: 4 } }, join(fixtures, 'plugin'));
    const out = await runTrial({ id: 'p0', index: 0, point: 0, params: {}, overrides: {}, config: withPlugins, seed: 3 }, { runDir: join(dir, 'p0'), signal: new AbortController().signal });
    // Two balanced rings: always answering one scores 0.5.
    expect(out.metrics.test_accuracy).toBeGreaterThan(0.9);
  }, 300_000);
});

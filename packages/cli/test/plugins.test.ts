import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineConfig, pipelineJsonSchema } from '@tfpipe/pipeline';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipeline, repo } from './helpers.js';

const fixtures = join(repo, 'packages/cli/test/fixtures/plugin');
const config = join(fixtures, 'rings.yaml');

describe('plugins: a custom model, transform and source registered from TypeScript', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tfpipe-plugins-'));
  });

  it('validate accepts a config made of a plugin\'s types, and without the plugin names each unknown type', async () => {
    const ok = await pipeline(['validate', config]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('model: my/wide');
    const text = (await readFile(config, 'utf8')).replace(/^plugins:.*$/m, '');
    await writeFile(join(tmp, 'no-plugin.yaml'), text.replace('./rings-plugin.ts', ''));
    const bad = await pipeline(['validate', join(tmp, 'no-plugin.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/data\.source\.type: unknown type; received "my\/rings"/);
    expect(bad.stderr).toMatch(/preprocess\[0\]\.type: unknown type; received "my\/radius"/);
    expect(bad.stderr).toMatch(/model\.type: unknown type; received "my\/wide".*no-plugin\.yaml:\d+:\d+/);
  }, 60_000);

  it('run trains, evaluates and saves a pipeline built from them, well above chance', async () => {
    const out = join(tmp, 'run');
    const r = await pipeline(['run', config, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { status: string; metrics: { accuracy: number } };
    expect(info.status).toBe('completed');
    // Two balanced classes: always answering one scores 0.5.
    expect(info.metrics.accuracy).toBeGreaterThan(0.9);
    const model = JSON.parse(await readFile(join(out, 'model', 'model.json'), 'utf8')) as { modelTopology: unknown };
    expect(JSON.stringify(model.modelTopology)).toContain('wide');
    const resolved = parse(await readFile(join(out, 'config.resolved.yaml'), 'utf8')) as { plugins: string[] };
    expect(resolved.plugins).toEqual([join(fixtures, 'rings-plugin.ts')]);
  }, 120_000);

  it('the JSON Schema of the registries a config loaded includes the registered types', async () => {
    const loaded = await loadPipelineConfig(config);
    const compile = (schema: Record<string, unknown>) => new Ajv2020({ allErrors: true, strict: false, formats: { uri: (s: string) => URL.canParse(s) } }).compile(schema);
    const doc = parse(await readFile(config, 'utf8'));
    expect(compile(pipelineJsonSchema(loaded.registries))(doc)).toBe(true);
    expect(compile(pipelineJsonSchema())(doc)).toBe(false);
  });

  it('a plugin that is missing or registers nothing is an error at its plugins: line', async () => {
    await writeFile(join(tmp, 'missing.yaml'), `name: x\nplugins:\n  - ./nope.ts\n${(await readFile(config, 'utf8')).split('\ndata:')[1]!.replace(/^/, 'data:')}`);
    const missing = await pipeline(['validate', join(tmp, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/plugins\[0\]: no such plugin module; received "\.\/nope\.ts".*missing\.yaml:3:5/);
    await writeFile(join(tmp, 'empty-plugin.ts'), 'export const nothing = 1;\n');
    await writeFile(join(tmp, 'empty.yaml'), 'name: x\nplugins: [./empty-plugin.ts]\n');
    const empty = await pipeline(['validate', join(tmp, 'empty.yaml')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/plugins\[0\]: the plugin exports no register function.*empty\.yaml:2:11/);
  }, 60_000);
});

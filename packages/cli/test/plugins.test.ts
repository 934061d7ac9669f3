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
  }, 300_000);

  it('run trains, evaluates and saves a pipeline built from them, well above chance; predict loads them again', async () => {
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
    // The saved run loads its plugins again: predict applies the plugin's transform to raw points.
    await writeFile(join(tmp, 'points.csv'), 'x,y\n1,0\n0,-1\n3,0\n0,3\n-0.7,0.7\n-2.1,2.1\n');
    const p = await pipeline(['predict', out, '--input', join(tmp, 'points.csv')]);
    expect(p.code, p.stderr).toBe(0);
    const labels = p.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { label: string }).label);
    expect(labels).toEqual(['inner', 'inner', 'outer', 'outer', 'inner', 'outer']);
  }, 300_000);

  it('the JSON Schema of the registries a config loaded includes the registered types', async () => {
    const loaded = await loadPipelineConfig(config);
    const compile = (schema: Record<string, unknown>) => new Ajv2020({ allErrors: true, strict: false, formats: { uri: (s: string) => URL.canParse(s) } }).compile(schema);
    const doc = parse(await readFile(config, 'utf8'));
    expect(compile(pipelineJsonSchema(loaded.registries))(doc)).toBe(true);
    expect(compile(pipelineJsonSchema())(doc)).toBe(false);
  });

  it('a plugin that is missing or registers nothing is an error at its plugins: line', async () => {
    const rest = `data:${(await readFile(config, 'utf8')).split('\ndata:')[1]!}`;
    await writeFile(join(tmp, 'missing.yaml'), `name: x\nplugins:\n  - ./nope.ts\n${rest}`);
    await expect(loadPipelineConfig(join(tmp, 'missing.yaml'))).rejects.toThrow(/plugins\[0\]: no such plugin module; received "\.\/nope\.ts".*missing\.yaml:3:5/);
    await writeFile(join(tmp, 'empty-plugin.mjs'), 'export const nothing = 1;\n');
    await writeFile(join(tmp, 'empty.yaml'), 'name: x\nplugins: [./empty-plugin.mjs]\n');
    await expect(loadPipelineConfig(join(tmp, 'empty.yaml'))).rejects.toThrow(/plugins\[0\]: the plugin exports no register function.*empty\.yaml:2:11/);
  });
});

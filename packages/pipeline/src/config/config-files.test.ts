import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TfpipeError } from '@tfpipe/core';
import { loadPipelineConfig } from './pipeline-config.js';

async function files(map: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tfpipe-cfgfiles-'));
  for (const [name, text] of Object.entries(map)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function errorOf(p: Promise<unknown>): Promise<TfpipeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TfpipeError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const DATA = 'data:\n  source: { type: csv, path: iris.csv }\n  features: [a, b]\n  label: y\n';

describe('config file errors point at the line that is wrong', () => {
  it('an over-indented key is reported at its own line and column, not at the key above', async () => {
    const dir = await files({ 'p.yaml': `name: a\n${DATA}model: { type: mlp }\ntrain:\n  epochs: 3\n   batchSize: 4\n` });
    const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.location).toMatchObject({ line: 9, column: 4 });
    expect(err.issues[0]!.path).toEqual(['train', 'batchSize']);
    expect(err.message).toContain('train.batchSize: wrong indentation: "batchSize" starts at column 4, deeper than "epochs" above it (column 3)');
  });

  it('an under-indented key is reported at its own line', async () => {
    const dir = await files({ 'p.yaml': `name: a\n${DATA}model: { type: mlp }\ntrain:\n  epochs: 3\n batchSize: 4\n` });
    const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
    expect(err.issues[0]!.location).toMatchObject({ line: 9, column: 2 });
    expect(err.message).toContain('"batchSize"');
  });

  it('an over-indented key in a list item is reported at its own line', async () => {
    const dir = await files({ 'p.yaml': `name: a\n${DATA}preprocess:\n  - type: standardize\n     columns: [a]\nmodel: { type: mlp }\n` });
    const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
    expect(err.issues[0]!.location).toMatchObject({ line: 8, column: 6 });
    expect(err.issues[0]!.path).toEqual(['preprocess', 0, 'columns']);
    expect(err.message).toContain('"columns"');
  });

  it('an extends: cycle names the line of the extends: that closes it', async () => {
    const dir = await files({
      'p.yaml': `extends: ./a.yaml\nname: p\n`,
      'a.yaml': `# a preset\nseed: 1\nextends:\n  - ./b.yaml\n`,
      'b.yaml': `seed: 2\n\nextends: ./a.yaml\n`,
    });
    const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
    expect(err.code).toBe('E_CONFIG');
    expect(err.issues).toHaveLength(1);
    // b.yaml's `extends: ./a.yaml` leads back to a.yaml, which is being read: that line closes the cycle.
    expect(err.issues[0]!.location).toMatchObject({ line: 3, column: 10 });
    expect(err.issues[0]!.location!.file).toMatch(/b\.yaml$/);
    expect(err.message).toMatch(/extends: cycle .*a\.yaml -> .*b\.yaml -> .*a\.yaml/);
  });

  it('a section given as null (a key with nothing under it) is an error at its own line', async () => {
    const dir = await files({ 'p.yaml': `name: a\n${DATA}model: { type: mlp }\ntrain:\nevaluate:\n  gates:\n` });
    const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path.join('.'), i]));
    expect(byPath.train).toMatchObject({ message: 'empty', received: null, expected: 'a mapping', location: { line: 7 } });
    expect(byPath['evaluate.gates']).toMatchObject({ message: 'empty', location: { line: 9 } });
    expect(err.message).toMatch(/train: empty; received null; expected a mapping \(.*p\.yaml:7:/);
  });

  it('null still removes what a preset sets (model: null, lora: null)', async () => {
    const dir = await files({
      'base.yaml': `name: base\n${DATA}model: { type: mlp }\ntrain: { epochs: 2 }\n`,
      'p.yaml': `extends: ./base.yaml\nmodel: null\nfinetune: { base: ./run }\ntrain: null\n`,
    });
    const { config } = await loadPipelineConfig(join(dir, 'p.yaml'));
    expect(config.model).toBeUndefined();
    expect(config.train.epochs).toBe(10); // the preset's train: removed, the defaults back
  });

  it('validate catches what a run would refuse before reading data: no features, the label among them, a bad transform or model option', async () => {
    const cases: [string, string, RegExp][] = [
      ['no features', 'data:\n  source: { type: csv, path: iris.csv }\n  label: y\nmodel: { type: mlp }\n', /data\.features: give exactly one of `features: \[columns\]`.*p\.yaml:3:3/],
      ['label as a feature', 'data:\n  source: { type: csv, path: iris.csv }\n  features: [a, y]\n  label: y\nmodel: { type: mlp }\n', /data\.features\[1\]: the label column is also a feature.*p\.yaml:4:/],
      ['both features and inputs', `${DATA}  inputs: { x: [a] }\nmodel: { type: mlp }\n`, /data\.inputs: give exactly one of/],
      ['a transform that cannot be made', `${DATA}preprocess: [{ type: impute, column: a, strategy: constant }]\nmodel: { type: mlp }\n`, /preprocess\[0\].*value/],
      ['a fusion encoder of an unknown type', `${DATA}model:\n  type: fusion\n  inputs: { features: { type: mpl } }\n`, /model\.inputs\.features\.type: unknown model type; received "mpl".*did you mean "mlp"/],
    ];
    for (const [name, body, re] of cases) {
      const dir = await files({ 'p.yaml': `name: a\n${body}` });
      const err = await errorOf(loadPipelineConfig(join(dir, 'p.yaml')));
      expect(err.code, name).toBe('E_CONFIG');
      expect(err.message, name).toMatch(re);
    }
  });
});

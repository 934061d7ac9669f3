import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipeline, repo } from './helpers.js';

/** Every YAML file under a folder (node_modules left out). */
async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('the editor schema (`pipeline schema`) under a real JSON Schema validator (ajv, draft 2020-12)', () => {
  let validate: ReturnType<Ajv2020['compile']>;
  const errorsOf = () => JSON.stringify(validate.errors?.slice(0, 5), null, 1);

  beforeAll(async () => {
    const r = await pipeline(['schema']);
    expect(r.code, r.stderr).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    validate = new Ajv2020({ allErrors: true, strict: false, formats: { uri: (s: string) => URL.canParse(s) } }).compile(schema);
  }, 300_000);

  it('accepts every config under examples/ and configs/, presets and files with extends: included', async () => {
    const files = [...(await yamlFiles(join(repo, 'examples'))), ...(await yamlFiles(join(repo, 'configs')))];
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files.some((f) => /finetune\.yaml$/.test(f))).toBe(true);
    for (const f of files) {
      const ok = validate(parse(await readFile(f, 'utf8')));
      expect(ok, `${relative(repo, f)}: ${errorsOf()}`).toBe(true);
    }
  });

  it("accepts the README's sweep example and the documented model: null / lora: null of a file that extends a preset", async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^sweep:/m.test(b));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(validate(parse(b)), errorsOf()).toBe(true);
    const doc = { extends: './base.yaml', name: 'ft', model: null, finetune: { base: '../runs/base', lora: null }, data: { source: { limit: 1000 } } };
    expect(validate(doc), errorsOf()).toBe(true);
  });

  it('still rejects what the CLI rejects: an unknown type or key, a wrong value, null without a preset to remove from', () => {
    const base = { name: 'a', data: { source: { type: 'csv', path: 'x.csv' }, features: ['a'], label: 'y' } };
    expect(validate({ ...base, model: { type: 'mlp' } }), errorsOf()).toBe(true);
    expect(validate({ ...base, model: { type: 'mpl' } })).toBe(false);
    expect(validate({ ...base, model: { type: 'mlp' }, train: { epochs: 'three' } })).toBe(false);
    expect(validate({ ...base, model: { type: 'mlp' }, train: { patince: 3 } })).toBe(false);
    expect(validate({ ...base, model: null })).toBe(false);
    expect(validate({ ...base, data: { source: { type: 'csv' } }, model: { type: 'mlp' } })).toBe(false);
    // With extends: a partial section is fine, a wrong value or an unknown key still is not.
    expect(validate({ extends: 'x', data: { source: { limit: 10 } } }), errorsOf()).toBe(true);
    expect(validate({ extends: 'x', train: { epochs: 'three' } })).toBe(false);
    expect(validate({ extends: 'x', trian: {} })).toBe(false);
  });
});

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TfpipeError } from '@tfpipe/core';
import { loadConfig, parseSet } from './load.js';

const schema = z
  .object({
    name: z.string(),
    seed: z.number().int().default(42),
    train: z
      .object({
        epochs: z.number().int().min(1).default(10),
        earlyStopping: z.object({ monitor: z.string().default('val_loss'), mode: z.enum(['auto', 'min', 'max']).default('auto'), patience: z.number().default(3) }).strict().optional(),
      })
      .strict()
      .default({ epochs: 10 }),
    model: z.discriminatedUnion('type', [
      z.object({ type: z.literal('mlp'), units: z.array(z.number()).default([32]) }).strict(),
      z.object({ type: z.literal('cnn'), filters: z.number() }).strict(),
    ]),
  })
  .strict();

async function files(map: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tfpipe-cfg-'));
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

describe('loadConfig', () => {
  it('fills defaults', async () => {
    const dir = await files({ 'p.yaml': 'name: a\nmodel: { type: mlp }\n' });
    const { config } = await loadConfig(join(dir, 'p.yaml'), { schema });
    expect(config).toEqual({ name: 'a', seed: 42, train: { epochs: 10 }, model: { type: 'mlp', units: [32] } });
  });

  it('reports every problem at once with path, value, allowed values, line:column and did-you-mean', async () => {
    const dir = await files({
      'p.yaml': ['name: a', 'model:', '  type: mlp', 'train:', '  epochs: 0', '  earlyStopping:', '    mode: mx', '    patince: 3', ''].join('\n'),
    });
    const err = await errorOf(loadConfig(join(dir, 'p.yaml'), { schema }));
    expect(err.code).toBe('E_CONFIG');
    const msg = err.message;
    expect(msg).toContain('train.epochs: out of range; received 0; expected a number >= 1');
    expect(msg).toMatch(/p\.yaml:5:11\)/);
    expect(msg).toContain('train.earlyStopping.mode: invalid value; received "mx"; expected "auto" | "min" | "max"');
    expect(msg).toMatch(/p\.yaml:7:11\)/);
    expect(msg).toContain('train.earlyStopping.patince: unknown key');
    expect(msg).toContain('did you mean "patience"?');
    expect(msg).toMatch(/p\.yaml:8:5\)/);
    expect(err.issues).toHaveLength(3);
  });

  it('names unknown types with the nearest known one', async () => {
    const dir = await files({ 'p.yaml': 'name: a\nmodel:\n  type: mpl\n' });
    const err = await errorOf(loadConfig(join(dir, 'p.yaml'), { schema }));
    expect(err.message).toContain('model.type: unknown type; received "mpl"; expected "mlp" | "cnn" (did you mean "mlp"?)');
    expect(err.message).toMatch(/:3:9\)/);
  });

  it('merges extends presets and relative files, then --set overrides', async () => {
    const dir = await files({
      'configs/base.yaml': 'seed: 1\ntrain: { epochs: 5, earlyStopping: { patience: 7 } }\nmodel: { type: mlp, units: [8, 8] }\n',
      'proj/mid.yaml': 'extends: base\ntrain: { epochs: 6 }\n',
      'proj/p.yaml': 'extends: ./mid.yaml\nname: x\n',
    });
    const { config, files: read } = await loadConfig(join(dir, 'proj/p.yaml'), { schema, set: ['train.epochs=3', 'model.units[1]=16'] });
    expect(config.seed).toBe(1);
    expect(config.train.epochs).toBe(3);
    expect(config.train.earlyStopping?.patience).toBe(7);
    expect(config.model).toEqual({ type: 'mlp', units: [8, 16] });
    expect(read).toHaveLength(3);
  });

  it('resolves data paths of a preset relative to the preset, not to the file that extends it', async () => {
    const pathSchema = z.object({ name: z.string(), data: z.object({ source: z.object({ type: z.literal('csv'), path: z.string() }).strict() }).strict() }).strict();
    const dir = await files({ 'presets/base.yaml': 'data: { source: { type: csv, path: data/x.csv } }\n', 'proj/p.yaml': 'extends: ../presets/base.yaml\nname: a\n' });
    const { config } = await loadConfig(join(dir, 'proj/p.yaml'), { schema: pathSchema });
    expect(config.data.source.path).toBe(join(dir, 'presets/data/x.csv'));
  });

  it('validates --set like the file and says where the bad value came from', async () => {
    const dir = await files({ 'p.yaml': 'name: a\nmodel: { type: mlp }\n' });
    const err = await errorOf(loadConfig(join(dir, 'p.yaml'), { schema, set: ['train.epochs=abc'] }));
    expect(err.message).toContain('train.epochs: wrong type; received "abc"; expected a number (--set train.epochs=abc)');
  });

  it('locates errors inside a preset in the preset file', async () => {
    const dir = await files({ 'configs/base.yaml': 'train:\n  epochs: -1\n', 'p.yaml': 'extends: base\nname: a\nmodel: { type: mlp }\n' });
    const err = await errorOf(loadConfig(join(dir, 'p.yaml'), { schema }));
    expect(err.message).toMatch(/base\.yaml:2:11\)/);
  });

  it('rejects an unknown preset, a cycle, YAML tags and prototype keys', async () => {
    const dir = await files({
      'a.yaml': 'extends: nope\nname: a\n',
      'c1.yaml': 'extends: ./c2.yaml\n',
      'c2.yaml': 'extends: ./c1.yaml\n',
      't.yaml': 'name: !!js/function "function(){}"\n',
      'proto.yaml': 'name: a\n__proto__: { polluted: true }\nmodel: { type: mlp }\n',
      'bad.yaml': 'name: [a\n',
    });
    expect((await errorOf(loadConfig(join(dir, 'a.yaml'), { schema }))).message).toMatch(/extends: no such preset; received "nope".*a\.yaml:1:10/s);
    expect((await errorOf(loadConfig(join(dir, 'c1.yaml'), { schema }))).message).toMatch(/cycle/);
    expect((await errorOf(loadConfig(join(dir, 't.yaml'), { schema }))).message).toMatch(/tags are not allowed/);
    const proto = await errorOf(loadConfig(join(dir, 'proto.yaml'), { schema }));
    expect(proto.message).toMatch(/__proto__: this key is not allowed.*proto\.yaml:2:1/s);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const bad = await errorOf(loadConfig(join(dir, 'bad.yaml'), { schema }));
    expect(bad.code).toBe('E_YAML');
    expect(bad.message).toMatch(/bad\.yaml:\d+:\d+/);
  });

  it('bounds alias expansion (billion laughs)', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const dir = await files({ 'lol.yaml': `${lines.join('\n')}\n` });
    const err = await errorOf(loadConfig(join(dir, 'lol.yaml'), { schema }));
    expect(err.message).toMatch(/alias/i);
  });

  it('runs cross-field checks on the defaulted config', async () => {
    const dir = await files({ 'p.yaml': 'name: a\nmodel: { type: mlp }\ntrain:\n  earlyStopping: { monitor: val_acc }\n' });
    const err = await errorOf(
      loadConfig(join(dir, 'p.yaml'), {
        schema,
        checks: (c) => (c.train.earlyStopping?.monitor === 'val_acc' ? [{ path: ['train', 'earlyStopping', 'monitor'], message: 'not computed', received: 'val_acc', expected: 'val_loss' }] : []),
      }),
    );
    expect(err.message).toMatch(/train\.earlyStopping\.monitor: not computed; received "val_acc"; expected val_loss \(.*p\.yaml:4:29\)/);
  });

  it('parses --set values as YAML', () => {
    expect(parseSet('a.b[2]=[16, 32]')).toEqual({ path: ['a', 'b', 2], value: [16, 32] });
    expect(parseSet('x=1e-3').value).toBe(0.001);
    expect(() => parseSet('novalue')).toThrow(/path=value/);
  });
});

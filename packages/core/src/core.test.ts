import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose, tinyModel } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  TfpipeError,
  appendJsonLine,
  createRegistry,
  createRng,
  didYouMean,
  fileSystemIO,
  formatIssue,
  readJsonLines,
  resolveDataPath,
  useBackend,
  writeFileAtomic,
  zodIssues,
} from './index.js';
import type { RegistryEntry } from './index.js';

describe('errors', () => {
  it('formats path, received, expected, suggestion and location', () => {
    const s = formatIssue({
      path: ['train', 'earlyStopping', 'mode'],
      message: 'invalid value',
      received: 'mx',
      expected: '"min" | "max"',
      location: { file: 'pipeline.yaml', line: 14, column: 11 },
    });
    expect(s).toBe('train.earlyStopping.mode: invalid value; received "mx"; expected "min" | "max" (pipeline.yaml:14:11)');
  });
});

describe('zodIssues', () => {
  it('gives each problem its full path, the value received and what is allowed; an unknown key its own line with did-you-mean', () => {
    const schema = z.object({ mode: z.enum(['min', 'max']), rate: z.number(), nested: z.object({ patience: z.number() }).strict() }).strict();
    const raw = { mode: 'maxx', rate: 'fast', nested: { patince: 3, patience: 1 }, extra: 1 };
    const r = schema.safeParse(raw);
    expect(r.success).toBe(false);
    const issues = zodIssues(r.error!, schema, ['train', 'earlyStopping'], raw);
    const byPath = Object.fromEntries(issues.map((i) => [i.path.join('.'), i]));
    expect(byPath['train.earlyStopping.mode']).toMatchObject({ code: 'invalid_value', received: 'maxx', expected: '"min" | "max"', suggestion: 'max' });
    expect(byPath['train.earlyStopping.rate']).toMatchObject({ code: 'wrong_type', received: 'fast', expected: 'a number' });
    // One wording for an unknown key everywhere (config files, options, sweeps, HTTP bodies): "unknown key".
    expect(byPath['train.earlyStopping.nested.patince']).toMatchObject({ code: 'unknown_key', message: 'unknown key', suggestion: 'patience', expected: 'one of patience' });
    expect(byPath['train.earlyStopping.extra']).toMatchObject({ code: 'unknown_key', message: 'unknown key', expected: 'one of mode, rate, nested' });
    expect(formatIssue(byPath['train.earlyStopping.nested.patince']!)).toMatch(/patince[\s\S]*patience/);
  });
});

describe('didYouMean', () => {
  it('finds close names and refuses far ones', () => {
    expect(didYouMean('patince', ['patience', 'monitor', 'mode'])).toBe('patience');
    expect(didYouMean('zzzzzz', ['patience', 'monitor'])).toBeUndefined();
  });
});

describe('createRegistry', () => {
  const entry = (type: string) => ({ type, schema: z.object({ type: z.literal(type) }) });
  it('rejects duplicates and names the nearest known type', () => {
    const r = createRegistry('model', [entry('mlp'), entry('cnn')]);
    expect(() => r.register(entry('mlp'))).toThrow(/already registered/);
    try {
      r.get('mpl');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TfpipeError);
      expect((e as TfpipeError).code).toBe('E_UNKNOWN_TYPE');
      expect((e as TfpipeError).message).toContain('did you mean "mlp"');
    }
  });
  it('builds a union over what is registered: a registered type validates, an unknown one is refused with the known ones', async () => {
    const { registrySchema, zodIssues } = await import('./index.js');
    const r = createRegistry<RegistryEntry>('model', [{ type: 'mlp', schema: z.object({ type: z.literal('mlp'), units: z.number().default(8) }).strict() }]);
    // An entry's schema without its `type` literal gets it; one that is not an object routes on `type` only.
    r.register({ type: 'my/encoder', schema: z.object({ width: z.number() }).strict() });
    r.register({ type: 'my/any', schema: z.unknown() });
    const schema = registrySchema(r);
    expect(schema.parse({ type: 'mlp' })).toEqual({ type: 'mlp', units: 8 });
    expect(schema.parse({ type: 'my/encoder', width: 3 })).toEqual({ type: 'my/encoder', width: 3 });
    expect(schema.safeParse({ type: 'my/encoder', width: 'x' }).success).toBe(false);
    expect(schema.safeParse({ type: 'my/any', anything: 1 }).success).toBe(true);
    const bad = { type: 'mpl' };
    const issues = zodIssues(schema.safeParse(bad).error!, schema, ['model'], bad);
    expect(issues[0]).toMatchObject({ code: 'unknown_type', path: ['model', 'type'], received: 'mpl', suggestion: 'mlp' });
    expect(issues[0]!.expected).toBe('"mlp" | "my/encoder" | "my/any"');
    expect(() => registrySchema(createRegistry('empty'))).toThrow(/empty/);
  });
  it('instances are independent', () => {
    const a = createRegistry('x', [entry('a')]);
    const b = createRegistry('x');
    expect(a.has('a')).toBe(true);
    expect(b.has('a')).toBe(false);
  });
});

describe('createRng', () => {
  it('is reproducible and resumable from its state', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b.next()));
    const state = a.getState();
    const next = a.next();
    const c = createRng(0);
    c.setState(state);
    expect(c.next()).toBe(next);
  });
  it('is roughly uniform', () => {
    const r = createRng(1);
    let sum = 0;
    for (let i = 0; i < 10000; i++) sum += r.next();
    expect(sum / 10000).toBeGreaterThan(0.48);
    expect(sum / 10000).toBeLessThan(0.52);
  });
});

describe('files', () => {
  it('writes atomically and reads JSON lines, ignoring a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-core-'));
    await writeFileAtomic(join(dir, 'a.txt'), 'hello');
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('hello');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await appendJsonLine(join(dir, 'm.jsonl'), { epoch: 1 });
    await appendJsonLine(join(dir, 'm.jsonl'), { epoch: 2 });
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(dir, 'm.jsonl'), '{"epoch": 3');
    expect(await readJsonLines(join(dir, 'm.jsonl'))).toEqual([{ epoch: 1 }, { epoch: 2 }]);
  });
  it('resolves npm: paths into installed packages', () => {
    const p = resolveDataPath('npm:zod/package.json', process.cwd() + '/packages/core');
    expect(p).toMatch(/zod[/\\]package\.json$/);
    expect(() => resolveDataPath('npm:no-such-package-xyz/a', process.cwd())).toThrow(/not installed/);
  });
});

describe('backend and model IO', () => {
  it('auto picks a backend and says what it skipped', async () => {
    const logs: string[] = [];
    const choice = await useBackend('auto', { log: (m) => logs.push(m) });
    expect(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(choice.name);
    expect(logs[0]).toMatch(/^backend: /);
    await useBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
  it('asking for a missing backend is a clear error', async () => {
    await expect(useBackend('tensorflow')).rejects.toThrow(/not installed|failed to load/);
  });
  it('saves and loads a layers model with identical outputs, without leaks', async () => {
    await useBackend('cpu');
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-io-'));
    const m = tinyModel();
    await m.save(fileSystemIO(dir));
    const back = await tfl.loadLayersModel(fileSystemIO(dir));
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const a = m.predict(x) as tf.Tensor;
    const b = back.predict(x) as tf.Tensor;
    expectTensorsClose(a, b, 0, 0);
    tf.dispose([a, b]);
    await expectNoLeakedTensors(() => (tf.tidy(() => back.predict(x)) as tf.Tensor).dispose());
    x.dispose();
  });
});

describe('packageVersion', () => {
  it('reads the version of the package a module sits in', async () => {
    const { packageVersion, TFPIPE_VERSION } = await import('./index.js');
    const own = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(packageVersion(import.meta.url)).toBe(own.version);
    expect(TFPIPE_VERSION).toBe(own.version);
  });
});

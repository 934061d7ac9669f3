import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { allowed, COMMAND_OPTIONS, parseValue, type ValueKind } from './options.js';
import { README, withOptionsTable } from './options-readme.js';
import { createProgram } from './program.js';

const refuses = (kind: ValueKind, text: string) => {
  expect(() => parseValue(kind, text), text).toThrow(InvalidArgumentError);
  expect(() => parseValue(kind, text)).toThrow(allowed(kind));
};

describe('option values', () => {
  it('integers: whole numbers in range only', () => {
    const k: ValueKind = { type: 'int', min: 1 };
    expect(parseValue(k, '256')).toBe(256);
    expect(parseValue(k, ' 3 ')).toBe(3);
    for (const t of ['0', '-1', '1.5', 'abc', '12abc', '', '1e3', '0x10', 'Infinity', '99999999999999999999']) refuses(k, t);
    expect(parseValue({ type: 'int', min: 0, max: 10 }, '0')).toBe(0);
    refuses({ type: 'int', min: 0, max: 10 }, '11');
  });

  it('ports: 0 to 65535, nothing trailing', () => {
    expect(parseValue({ type: 'port' }, '8080')).toBe(8080);
    expect(parseValue({ type: 'port' }, '0')).toBe(0);
    for (const t of ['80x', 'abc', '65536', '-1', '80.5']) refuses({ type: 'port' }, t);
  });

  it('durations in seconds, with units', () => {
    const k: ValueKind = { type: 'duration' };
    expect(parseValue(k, '90')).toBe(90);
    expect(parseValue(k, '90s')).toBe(90);
    expect(parseValue(k, '5m')).toBe(300);
    expect(parseValue(k, '1.5h')).toBe(5400);
    expect(parseValue(k, '250ms')).toBe(0.25);
    for (const t of ['abc', '0', '-5', '5 minutes', '5d', '']) refuses(k, t);
  });

  it('sizes in bytes, with units', () => {
    const k: ValueKind = { type: 'bytes' };
    expect(parseValue(k, '1048576')).toBe(1048576);
    expect(parseValue(k, '10mb')).toBe(10 * 1024 * 1024);
    expect(parseValue(k, '512KB')).toBe(512 * 1024);
    for (const t of ['0', 'abc', '-1', '10tb']) refuses(k, t);
  });

  it('enums and URLs', () => {
    expect(parseValue({ type: 'enum', values: ['k8s', 'argo'] }, 'argo')).toBe('argo');
    refuses({ type: 'enum', values: ['k8s', 'argo'] }, 'helm');
    const redis: ValueKind = { type: 'url', protocols: ['redis:'] };
    expect(parseValue(redis, 'redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    for (const t of ['127.0.0.1:6379', 'http://x', 'redis://', 'nope']) refuses(redis, t);
  });
});

describe('the options table', () => {
  it('gives every command of the program exactly its options', () => {
    const seen = new Map<string, string[]>();
    const walk = (cmd: ReturnType<typeof createProgram>, prefix: string[]) => {
      for (const sub of cmd.commands) {
        const path = [...prefix, sub.name()];
        if (sub.options.length || path.join(' ') in COMMAND_OPTIONS) seen.set(path.join(' '), sub.options.map((o) => o.flags));
        walk(sub as never, path);
      }
    };
    walk(createProgram(), []);
    for (const [path, specs] of Object.entries(COMMAND_OPTIONS)) expect(seen.get(path), path).toEqual(specs.map((s) => s.flags));
    for (const path of seen.keys()) expect(Object.keys(COMMAND_OPTIONS), path).toContain(path);
  });

  it('the README table is the generated one', async () => {
    const text = await readFile(README, 'utf8');
    expect(withOptionsTable(text)).toBe(text);
    expect(text).toContain('| `pipeline predict` | `--batch-size <n>` | an integer >= 1 | `256` |');
  });
});

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium, findExecutable, servicesRequired, skipWithout } from './services.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('real services under CI', () => {
  it('requires services when CI or TFPIPE_REQUIRE_SERVICES says so, and not otherwise', () => {
    expect(servicesRequired({})).toBe(false);
    expect(servicesRequired({ CI: 'true' })).toBe(true);
    expect(servicesRequired({ CI: '1' })).toBe(true);
    expect(servicesRequired({ CI: 'false' })).toBe(false);
    expect(servicesRequired({ TFPIPE_REQUIRE_SERVICES: '1' })).toBe(true);
    expect(servicesRequired({ CI: 'true', TFPIPE_REQUIRE_SERVICES: '0' })).toBe(false);
  });

  it('skips a missing service locally, and throws when it is required', () => {
    const saved = { ci: process.env.CI, req: process.env.TFPIPE_REQUIRE_SERVICES };
    try {
      delete process.env.CI;
      delete process.env.TFPIPE_REQUIRE_SERVICES;
      expect(skipWithout('Thing', true, 'hint')).toBe(false);
      expect(skipWithout('Thing', false, 'hint')).toBe(true);
      process.env.TFPIPE_REQUIRE_SERVICES = '1';
      expect(skipWithout('Thing', true, 'hint')).toBe(false);
      expect(() => skipWithout('Thing', false, 'install it')).toThrow(/Thing is required .*install it/);
    } finally {
      for (const [k, v] of [['CI', saved.ci], ['TFPIPE_REQUIRE_SERVICES', saved.req]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('finds a browser by any of its names on PATH, in order', async () => {
    const a = await mkdtemp(join(tmpdir(), 'tfpipe-path-a-'));
    const b = await mkdtemp(join(tmpdir(), 'tfpipe-path-b-'));
    dirs.push(a, b);
    await writeFile(join(b, 'chromium-browser'), '#!/bin/sh\n');
    await chmod(join(b, 'chromium-browser'), 0o755);
    await writeFile(join(a, 'google-chrome'), 'not executable');
    const path = [a, b].join(delimiter);
    expect(findExecutable(['chromium', 'chromium-browser'], path)).toBe(join(b, 'chromium-browser'));
    expect(findExecutable(['google-chrome'], path)).toBeUndefined();
    expect(findChromium({ PATH: path })).toBe(join(b, 'chromium-browser'));
    expect(findChromium({ PATH: path, TFPIPE_CHROMIUM: join(b, 'chromium-browser') })).toBe(join(b, 'chromium-browser'));
  });
});

import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * Whether the real services the tests use (Redis, Chromium) must be present: under CI (`CI` set, as `.ci/run`
 * does) or with `TFPIPE_REQUIRE_SERVICES=1`. Then a missing service fails the test file instead of skipping it,
 * so CI cannot go green with the real-service tests skipped.
 */
export function servicesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const req = env.TFPIPE_REQUIRE_SERVICES;
  if (req === '0') return false;
  if (req !== undefined && req !== '') return true;
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Decides whether the tests needing `service` run: returns true (skip) when it is missing and not required,
 * false when present; throws, failing the file, when it is missing but required (see `servicesRequired`).
 */
export function skipWithout(service: string, present: boolean, hint: string): boolean {
  if (present) return false;
  if (servicesRequired()) {
    throw new Error(`${service} is required here (CI or TFPIPE_REQUIRE_SERVICES=1) but is missing: ${hint}`);
  }
  console.warn(`SKIPPING the tests that need ${service}: ${hint}`);
  return true;
}

/** Whether something accepts TCP connections on host:port (one connection attempt, answered by the OS). */
export function tcpListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The first of `names` found as an executable file on PATH (absolute paths are checked as given), or undefined. */
export function findExecutable(names: readonly string[], path = process.env.PATH ?? ''): string | undefined {
  for (const name of names) {
    const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((d) => join(d, name));
    for (const c of candidates) {
      try {
        accessSync(c, constants.X_OK);
        return c;
      } catch {}
    }
  }
  return undefined;
}

/** The browser for the report's rendering test: `TFPIPE_CHROMIUM`, else chromium, chromium-browser, google-chrome on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', '/usr/bin/chromium'];
  return findExecutable(env.TFPIPE_CHROMIUM ? [env.TFPIPE_CHROMIUM, ...names] : names, env.PATH ?? '');
}

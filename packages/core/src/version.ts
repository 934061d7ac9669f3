import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TfpipeError } from './errors.js';

/**
 * The `version` of the package that holds the module at `moduleUrl` (pass `import.meta.url`): the nearest
 * package.json above it. Works the same from `src/` (tests, the dev CLI) and from a published `dist/`.
 */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // no package.json here: look one folder up
    }
    if (text !== undefined) {
      const version = (JSON.parse(text) as { version?: unknown }).version;
      if (typeof version === 'string') return version;
    }
    const up = dirname(dir);
    if (up === dir) throw new TfpipeError('E_INTERNAL', `no package.json with a version above ${fileURLToPath(moduleUrl)}`);
    dir = up;
  }
}

/** This tfpipe's version (every @tfpipe package is released with the same one). */
export const TFPIPE_VERSION: string = packageVersion(import.meta.url);

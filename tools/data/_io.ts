// Small file helpers shared by the data preparation scripts (node builtins only, so the scripts run
// without building any workspace package).
import { createRequire } from 'node:module';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A path inside the repository. */
export function repoPath(rel: string): string {
  return join(repo, rel);
}

/** A file of a data package installed for the examples (examples/package.json lists them). */
export function examplePackageFile(pkg: string, file: string): string {
  const require = createRequire(join(repo, 'examples/package.json'));
  // Some data packages hide package.json behind `exports`; the main entry's folder works for all of ours.
  let root: string;
  try {
    root = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    root = packageRoot(require.resolve(pkg), pkg);
  }
  return join(root, file);
}

function packageRoot(entry: string, pkg: string): string {
  const marker = `${join('node_modules', pkg)}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the folder of ${pkg} from ${entry}`);
  return entry.slice(0, at + marker.length);
}

/** Writes one JSON value per line, atomically (temporary name, then rename). */
export async function writeJsonl(file: string, rows: readonly unknown[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await rename(tmp, file);
}

/** A seeded permutation (mulberry32 + Fisher-Yates), so the output order is the same on every machine. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

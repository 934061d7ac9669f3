import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@tfpipe/core';
import { type FiguresFile, fillReadme } from './render.js';

/** The READMEs whose figures blocks `pnpm figures` fills: the root one and each example's. */
export async function readmeFiles(repo: string): Promise<string[]> {
  const examples = (await readdir(join(repo, 'examples'), { withFileTypes: true })).filter((d) => d.isDirectory() && d.name !== 'node_modules');
  return [join(repo, 'README.md'), ...examples.map((d) => join(repo, 'examples', d.name, 'README.md')).filter((f) => existsSync(f))];
}

/** Rewrites each README whose figures blocks differ from what docs/figures.json says. */
export async function fillReadmes(repo: string, file: FiguresFile): Promise<void> {
  for (const f of await readmeFiles(repo)) {
    const text = await readFile(f, 'utf8');
    const filled = fillReadme(text, file);
    if (filled !== text) await writeFileAtomic(f, filled);
  }
}

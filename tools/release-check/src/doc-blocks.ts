/**
 * The code blocks of the READMEs that are meant to run. A ```ts block is a program a user can paste into a file
 * of their own project (with the packages installed) and run; a block that only shows a shape or a signature
 * says so in its info string (```ts illustrative) and is left out. Shell blocks are the `pipeline` commands the
 * figures command runs (tools/figures) and the flags test checks (packages/cli/test/readme-flags.test.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * README files whose runnable block does not run as printed yet, and why (each needs something of the user's).
 * The doc test expects them to fail (it.fails), so one that gets fixed must leave this list; keep it short.
 */
export const NOT_YET: Record<string, string> = {
  'packages/core/README.md': 'loads runs/iris-mlp-20261128-120000/model, a run the user must have trained first',
  'packages/data/README.md': 'reads data/houses.csv, a file of the user’s own',
  'packages/pipeline/README.md': 'reads examples/iris-mlp/pipeline.yaml, relative to the repository root',
  'packages/serve/README.md': 'serves runs/iris, a run the user must have trained first',
};

export interface DocBlock {
  /** README path relative to the repository root. */
  file: string;
  /** Line of the opening fence. */
  line: number;
  lang: string;
  illustrative: boolean;
  code: string;
}

export function readmePaths(repo: string): string[] {
  const out = [join(repo, 'README.md')];
  for (const top of ['packages', 'examples', 'tools']) {
    for (const d of readdirSync(join(repo, top), { withFileTypes: true })) {
      const f = join(repo, top, d.name, 'README.md');
      if (d.isDirectory() && d.name !== 'node_modules' && existsSync(f)) out.push(f);
    }
  }
  return out;
}

/** Every fenced block of a markdown text, with its info string split into language and flags. */
export function blocksOf(text: string, file: string): DocBlock[] {
  const out: DocBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open || open[1] === '') continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) break;
    out.push({ file, line: i + 1, lang: open[1]!, illustrative: /\billustrative\b/.test(open[2]!), code: `${lines.slice(i + 1, end).join('\n')}\n` });
    i = end;
  }
  return out;
}

/** The TypeScript blocks of every README, runnable and illustrative. */
export function typescriptBlocks(repo: string): DocBlock[] {
  return readmePaths(repo).flatMap((f) => blocksOf(readFileSync(f, 'utf8'), relative(repo, f)).filter((b) => b.lang === 'ts' || b.lang === 'typescript'));
}

/** The packages a block imports (bare specifiers, by package name). */
export function importedPackages(code: string): string[] {
  const names = new Set<string>();
  for (const m of code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"./][^'"]*)['"]/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('node:')) continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return [...names].sort();
}

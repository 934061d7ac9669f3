import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from './examples.js';
import { readmeFiles } from './readmes.js';
import { type FiguresFile, exampleBlock, fillReadme, formatDuration, markerNames, renderFigures, summaryLine } from './render.js';

// Figures cannot drift: what the READMEs and docs/FIGURES.md show is exactly what `pnpm figures` measured
// (docs/figures.json), and a README's copy of a file is that file.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const figures = JSON.parse(readFileSync(join(repo, 'docs/figures.json'), 'utf8')) as FiguresFile;

describe('generated figures', () => {
  it('docs/FIGURES.md is what pnpm figures renders from docs/figures.json', () => {
    expect(readFileSync(join(repo, 'docs/FIGURES.md'), 'utf8')).toBe(renderFigures(figures));
  });

  it('every README figures block is filled from docs/figures.json (rerun `pnpm figures --render` after editing)', async () => {
    const known = new Set(EXAMPLES.map((e) => e.name));
    for (const f of await readmeFiles(repo)) {
      const text = readFileSync(f, 'utf8');
      for (const name of markerNames(text)) expect(known.has(name), `${relative(repo, f)}: figures:${name} is not an example`).toBe(true);
      expect(text, relative(repo, f)).toBe(fillReadme(text, figures));
    }
  });

  it('every example has a README with its figures block, and pnpm figures knows how to run it', async () => {
    const names = EXAMPLES.map((e) => e.name).sort();
    const dirs = (await readmeFiles(repo)).map((f) => relative(repo, f)).filter((f) => f.startsWith('examples/'));
    expect(dirs.map((f) => f.split('/')[1]).sort()).toEqual(names);
    for (const f of dirs) {
      const name = f.split('/')[1]!;
      expect(markerNames(readFileSync(join(repo, f), 'utf8')), `${f} has no figures:${name} block`).toContain(name);
    }
    const root = readFileSync(join(repo, 'README.md'), 'utf8');
    for (const name of names) {
      expect(markerNames(root), `README.md has no figures:${name}:line`).toContain(name);
      for (const s of EXAMPLES.find((e) => e.name === name)!.steps) expect(existsSync(join(repo, s.config)), s.config).toBe(true);
    }
  });

  it('renders a missing measurement as a command to run, never as a number', () => {
    expect(summaryLine(undefined, 'mnist-cnn')).toBe('not measured yet: `pnpm figures --only mnist-cnn`');
    expect(exampleBlock(undefined, 'x')).toMatch(/pnpm figures --only x/);
    expect(formatDuration(42.25)).toBe('42.3 s');
    expect(formatDuration(270)).toBe('4 min 30 s');
    const text = 'a <!-- figures:zz:line -->typed 0.99<!-- /figures --> b';
    expect(fillReadme(text, { examples: {} })).toBe('a <!-- figures:zz:line -->not measured yet: `pnpm figures --only zz`<!-- /figures --> b');
  });
});

describe('README copies of files', () => {
  it('a code block after <!-- file: PATH --> is the file at PATH, as it is', async () => {
    let copies = 0;
    for (const f of await readmeFiles(repo)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)```\n/g)) {
        copies++;
        expect(m[2], `${relative(repo, f)}: ${m[1]}`).toBe(readFileSync(join(repo, m[1]!), 'utf8'));
      }
    }
    expect(copies).toBeGreaterThan(0);
  });
});

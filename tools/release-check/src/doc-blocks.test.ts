import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NOT_YET, blocksOf, importedPackages, typescriptBlocks } from './doc-blocks.js';
import { linkFromWorkspace, runBlock, tsxLoader, writeAppPackage } from './doc-project.js';

// The doc test: every ```ts block of the READMEs not marked `illustrative` runs as printed, from a scratch project
// outside the repository whose node_modules hold the packages it imports (linked to the workspace's sources
// here; release-check runs the same blocks against the packed tarballs installed with npm).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const blocks = typescriptBlocks(repo);
const runnable = blocks.filter((b) => !b.illustrative);

const app = mkdtempSync(join(tmpdir(), 'tfpipe-doc-'));
writeAppPackage(app);
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('finds the blocks, and keeps the illustrative ones few', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(9);
    expect(runnable.some((b) => b.file === 'README.md')).toBe(true);
    const illustrative = blocks.filter((b) => b.illustrative);
    expect(illustrative.length, illustrative.map((b) => `${b.file}:${b.line}`).join(', ')).toBeLessThanOrEqual(13);
    for (const f of Object.keys(NOT_YET)) expect(runnable.some((b) => b.file === f), `${f} in NOT_YET has no runnable block`).toBe(true);
  });

  it('parses info strings and imports', () => {
    const [a, b] = blocksOf("x\n```ts illustrative\nfoo()\n```\n```ts\nimport { x } from '@tfpipe/data';\nimport '@tensorflow/tfjs-backend-cpu';\nimport { y } from './local.js';\n```\n", 'R.md');
    expect(a).toMatchObject({ lang: 'ts', illustrative: true, line: 2, code: 'foo()\n' });
    expect(b!.illustrative).toBe(false);
    expect(importedPackages(b!.code)).toEqual(['@tensorflow/tfjs-backend-cpu', '@tfpipe/data']);
  });

  const loader = tsxLoader(repo);
  for (const [n, block] of runnable.entries()) {
    const reason = NOT_YET[block.file];
    const title = `${block.file}:${block.line} runs as printed${reason ? ` (not yet: ${reason})` : ''}`;
    (reason ? it.fails : it)(
      title,
      async () => {
        for (const p of importedPackages(block.code)) linkFromWorkspace(repo, app, p);
        const r = await runBlock(app, block, n, loader, ['--conditions=@tfpipe/source']);
        expect(r.code, r.output.slice(-3000)).toBe(0);
      },
      180_000,
    );
  }
});

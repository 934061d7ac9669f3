/**
 * A scratch project of a user's own, outside the repository, whose node_modules hold the packages the README
 * blocks import: linked to the workspace's sources (the doc test, no build needed) or installed from the packed
 * tarballs (release-check). Each runnable ```ts block is written to a file there and run with tsx.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DocBlock } from './doc-blocks.js';

/** Links `name` into `app`/node_modules from the workspace: a package of ours, or a dependency some package of ours has. */
export function linkFromWorkspace(repo: string, app: string, name: string): void {
  const target = join(app, 'node_modules', name);
  if (existsSync(target)) return;
  let source: string | undefined;
  if (name.startsWith('@tfpipe/')) source = join(repo, 'packages', name.slice('@tfpipe/'.length));
  else {
    const anchors = [repo, join(repo, 'examples'), ...readdirSync(join(repo, 'packages')).map((d) => join(repo, 'packages', d)), ...readdirSync(join(repo, 'tools')).map((d) => join(repo, 'tools', d))];
    const found = anchors.map((a) => join(a, 'node_modules', name)).find((p) => existsSync(p));
    source = found && realpathSync(found);
  }
  if (!source || !existsSync(source)) throw new Error(`no package ${name} in the workspace to link into the doc project`);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, 'dir');
}

/** The file URL of tsx's loader, from the repository's own install. */
export function tsxLoader(repo: string): string {
  return pathToFileURL(createRequire(join(repo, 'package.json')).resolve('tsx')).href;
}

export interface BlockRun {
  block: DocBlock;
  code: number | null;
  output: string;
}

/** Runs a block as `app/doc-<n>.ts` with tsx (and extra node flags); resolves with its exit code and output. */
export function runBlock(app: string, block: DocBlock, n: number, loader: string, nodeFlags: string[] = []): Promise<BlockRun> {
  const file = join(app, `doc-${n}.ts`);
  writeFileSync(file, `// ${block.file}:${block.line}\n${block.code}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', loader, file], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ block, code, output }));
  });
}

export function writeAppPackage(app: string): void {
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'doc-consumer', private: true, type: 'module' }, null, 2));
}

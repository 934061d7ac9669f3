#!/usr/bin/env node
// `pipeline` from the repository's sources, for working inside the repository: the root package depends on this
// package, so pnpm links this file as node_modules/.bin/pipeline and `pnpm pipeline ...` works from any folder of
// the workspace (pnpm runs a workspace binary when no script has the name). Paths on the command line are
// relative to where the user stands: the current folder, or INIT_CWD when pnpm ran the root `pipeline` script
// (pnpm runs root scripts from the root, and passes the user's folder as INIT_CWD).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const cwd = process.env.npm_lifecycle_event === 'pipeline' && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
// tsx resolved from the repository, wherever the user stands.
const tsx = pathToFileURL(createRequire(join(repo, 'package.json')).resolve('tsx')).href;
const bin = join(repo, 'packages/cli/src/bin.ts');
const child = spawn(process.execPath, ['--conditions=@tfpipe/source', '--import', tsx, bin, ...process.argv.slice(2)], { cwd, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});

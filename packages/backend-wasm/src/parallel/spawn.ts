import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './worker.js';

// Loaded from src/*.ts (tsx, vitest) or from the compiled dist/*.js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const SOURCE_CONDITION = '--conditions=@tfpipe/source';

/** tsx's ESM API (its `import` build; the `require` build cannot register from an eval'd worker). */
function tsxApiUrl(): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === 'function') return resolve('tsx/esm/api');
  // vitest's module runner has no import.meta.resolve: resolve the package, then its export for `import`.
  const req = createRequire(import.meta.url);
  const pkgPath = req.resolve('tsx/package.json');
  const pkg = req(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
}

/** Flags the worker gets: the parent's, minus `--import tsx`-style loaders (registered by the bootstrap instead). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--import' || a === '--loader' || a === '--experimental-loader') && /tsx/.test(args[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|experimental-loader)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  if (FROM_SOURCE && !out.includes(SOURCE_CONDITION)) out.push(SOURCE_CONDITION);
  return out;
}

/**
 * Starts one gradient worker. From the compiled package the entry is `worker.js`. From source, `--import tsx`
 * does not reach worker threads on Node 20 (tsx's hooks register on the main thread only), so a one-line
 * bootstrap registers tsx through its API, then imports `worker.ts`; `@tfpipe/source` carries over so the
 * worker reads the workspace packages' sources as the parent does.
 */
export function spawnWorker(init: WorkerInit): Worker {
  const entry = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);
  const options = { workerData: init, execArgv: workerExecArgv() };
  if (!FROM_SOURCE) return new Worker(entry, options);
  const code = `import(${JSON.stringify(tsxApiUrl())}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}));`;
  return new Worker(code, { ...options, eval: true });
}

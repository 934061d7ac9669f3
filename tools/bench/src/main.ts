/**
 * `pnpm bench [--only <workload>] [--backend <name>] [--json] [--compare-torch] [--threads <n|auto>]`
 *
 * Every file in ./workloads exports `workload: Workload`. Each workload runs once per requested backend
 * and prints one result (a table row, or one JSON object per line with --json). Each workload runs in a
 * child process of its own, so each starts the wasm backend with its own thread count.
 */
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchOptions, BenchResult, Workload } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));

async function loadWorkloads(): Promise<Workload[]> {
  const files = (await readdir(join(here, 'workloads'))).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const out: Workload[] = [];
  for (const f of files.sort()) {
    const mod = (await import(join(here, 'workloads', f))) as { workload?: Workload; workloads?: Workload[] };
    if (mod.workload) out.push(mod.workload);
    if (mod.workloads) out.push(...mod.workloads);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      'compare-torch': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      child: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const all = await loadWorkloads();
  if (values.help) {
    console.log(
      `pnpm bench [--only <workload>] [--backend <name>] [--json] [--compare-torch] [--quick] [--threads <n|auto>]\nworkloads: ${all.map((w) => w.name).join(', ')}`,
    );
    return;
  }
  const picked = values.only ? all.filter((w) => values.only!.split(',').includes(w.name)) : all.filter((w) => !w.optIn);
  if (picked.length === 0) {
    console.error(`no workload named ${values.only}; known: ${all.map((w) => w.name).join(', ')}`);
    process.exit(2);
  }
  const opts: BenchOptions = { json: values.json!, compareTorch: values['compare-torch']!, quick: values.quick!, backend: values.backend };
  if (!values.child) {
    let failed = false;
    for (const w of picked) {
      const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2).filter((a, i, all) => a !== '--only' && all[i - 1] !== '--only'), '--only', w.name, '--child'];
      const threads = values.threads ?? process.env.TFPIPE_WASM_THREADS ?? String(w.wasmThreads ?? 'auto');
      const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, TFPIPE_WASM_THREADS: threads } });
      if (r.status !== 0) failed = true;
    }
    if (failed) process.exit(1);
    return;
  }
  for (const w of picked) {
    const results: BenchResult[] = await w.run(opts);
    for (const r of results) {
      if (opts.json) console.log(JSON.stringify(r));
      else console.log(Object.entries(r).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`).join('  '));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * `pnpm bench [--only <workload>] [--backend <name>] [--json] [--compare-torch] [--threads <n|auto>] [--log <file>]`
 *
 * Every file in ./workloads exports `workload: Workload`. Each workload runs once per requested backend
 * and prints one result (a table row, or one JSON object per line with --json). Each workload runs in a
 * child process of its own, so each starts the wasm backend with its own thread count.
 * Every result of every run is also appended to a log (default runs/bench/runs.jsonl) with its date, git
 * commit and machine, so a figure quoted from the bench can be traced to all the runs made, not a chosen few.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchOptions, BenchResult, Workload } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

/** When, at which commit and on what machine a result was measured. */
function runInfo(): Record<string, string | number | boolean> {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain']).length > 0,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

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
      log: { type: 'string' },
      child: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const all = await loadWorkloads();
  if (values.help) {
    console.log(
      `pnpm bench [--only <workload>] [--backend <name>] [--json] [--compare-torch] [--quick] [--threads <n|auto>] [--log <file>]\nworkloads: ${all.map((w) => w.name).join(', ')}`,
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
  const log = resolve(process.env.INIT_CWD ?? process.cwd(), values.log ?? join(repoRoot, 'runs/bench/runs.jsonl'));
  mkdirSync(dirname(log), { recursive: true });
  const run = runInfo();
  const fmt = (v: unknown) => (typeof v === 'number' ? +v.toPrecision(4) : Array.isArray(v) ? v.map((x) => +Number(x).toPrecision(4)).join('/') : v);
  for (const w of picked) {
    const results: BenchResult[] = await w.run(opts);
    for (const r of results) {
      appendFileSync(log, `${JSON.stringify({ ...run, ...r })}\n`);
      if (opts.json) console.log(JSON.stringify(r));
      else console.log(Object.entries(r).map(([k, v]) => `${k}=${fmt(v)}`).join('  '));
    }
  }
  console.error(`[bench] every result appended to ${log}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

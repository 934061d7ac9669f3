/**
 * `pnpm figures [--only <example,...>] [--max-cost cheap|medium|long] [--list] [--render]`
 *
 * Re-runs each example as configured (the same configs and output folders as its README, data prepared by the
 * tools/data script it names) through the real `pipeline` binary, and writes what was measured (test metrics,
 * epochs, time, samples/s, backend) with the machine, the date and the git commit into docs/figures.json and
 * docs/FIGURES.md. A README figure is the output of this command, never typed by hand. A subset (--only, or
 * --max-cost) updates those examples only; the others keep their last measurement, with its own date and commit.
 * The READMEs show figures only inside `<!-- figures:NAME -->` blocks that this command fills (--render refills
 * them from docs/figures.json without running anything); a test checks they match docs/figures.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import { EXAMPLES, type ExampleSpec, type Step } from './examples.js';
import { fillReadmes } from './readmes.js';
import { type ExampleFigures, type FiguresFile, type StepFigures, renderFigures } from './render.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = ['--conditions=@tfpipe/source', '--import', 'tsx'];
const JSON_FILE = join(repo, 'docs/figures.json');
const MD_FILE = join(repo, 'docs/FIGURES.md');
const COSTS = ['cheap', 'medium', 'long'] as const;

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine(): ExampleFigures['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${process.platform} ${release()}`,
    wasmThreads: process.env.TFPIPE_WASM_THREADS ?? 'auto',
  };
}

/** Runs a node script of the repository from source; resolves with the exit code. Its output goes to ours. */
function runNode(args: string[]): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...SOURCE, ...args], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
    child.on('error', rej);
    child.on('close', (code) => res(code ?? 1));
  });
}

const readJson = async <T>(p: string): Promise<T | undefined> => (existsSync(p) ? (JSON.parse(await readFile(p, 'utf8')) as T) : undefined);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function measureStep(step: Step): Promise<StepFigures> {
  const out = join(repo, step.out);
  if (!out.startsWith(join(repo, 'runs') + '/')) throw new Error(`${step.out}: figures runs go under runs/`);
  await rm(out, { recursive: true, force: true });
  const t0 = performance.now();
  const code = await runNode([join(repo, 'packages/cli/src/bin.ts'), 'run', step.config, '--out', step.out, '--no-progress']);
  const wallSeconds = (performance.now() - t0) / 1000;
  const expected = step.exitCode ?? 0;
  if (code !== expected) throw new Error(`pipeline run ${step.config} exited with ${code}, expected ${expected}`);
  const run = await readJson<{ backend?: string; epochs?: number; bestEpoch?: number; stopReason?: string; status?: string; metrics?: Record<string, number>; startedAt?: string; endedAt?: string }>(join(out, 'run.json'));
  const ev = await readJson<{ samples?: number; metrics?: Record<string, number>; robust?: { accuracy: number; robustAccuracy: number; samples: number; attack: { type: string; epsilon: number } }; before?: { metrics: Record<string, number> }; gates?: unknown }>(join(out, 'evaluation.json'));
  const lines = existsSync(join(out, 'metrics.jsonl'))
    ? (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { samplesPerSec?: number; seconds?: number })
    : [];
  const sps = lines.map((l) => l.samplesPerSec).filter((x): x is number => typeof x === 'number');
  return {
    label: step.label,
    config: step.config,
    command: `pnpm pipeline run ${step.config} --out ${step.out}`,
    exitCode: code,
    status: run?.status,
    backend: run?.backend,
    epochs: run?.epochs,
    bestEpoch: run?.bestEpoch,
    stopReason: run?.stopReason,
    testSamples: ev?.samples,
    metrics: ev?.metrics ?? run?.metrics ?? {},
    ...(ev?.before ? { before: ev.before.metrics } : {}),
    ...(ev?.robust ? { robust: { accuracy: ev.robust.accuracy, robustAccuracy: ev.robust.robustAccuracy, samples: ev.robust.samples, attack: `${ev.robust.attack.type} ε=${ev.robust.attack.epsilon}` } } : {}),
    wallSeconds,
    trainSeconds: lines.reduce((a, l) => a + (l.seconds ?? 0), 0),
    samplesPerSec: sps.length ? { median: median(sps), min: Math.min(...sps), max: Math.max(...sps) } : undefined,
  };
}

async function measure(ex: ExampleSpec): Promise<ExampleFigures> {
  if (ex.prepare && !existsSync(join(repo, ex.prepare.file))) {
    console.error(`[figures] ${ex.name}: preparing ${ex.prepare.file} (${ex.prepare.script})`);
    const code = await runNode([join(repo, ex.prepare.script)]);
    if (code !== 0) throw new Error(`${ex.prepare.script} exited with ${code}`);
  }
  const steps: StepFigures[] = [];
  for (const [i, step] of ex.steps.entries()) {
    console.error(`[figures] ${ex.name} step ${i + 1}/${ex.steps.length}: ${step.config}`);
    steps.push(await measureStep(step));
  }
  const commit = git(['rev-parse', '--short=12', 'HEAD']) || 'unknown';
  // Uncommitted changes to anything but what this command writes itself (docs/figures.json, FIGURES.md, READMEs).
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':!docs/figures.json', ':!docs/FIGURES.md', ':!**/README.md', ':!README.md']).length > 0;
  return { name: ex.name, date: new Date().toISOString(), commit, dirty, machine: machine(), steps };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, 'max-cost': { type: 'string' }, list: { type: 'boolean', default: false }, render: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.render) {
    // Runs nothing: rewrites docs/FIGURES.md and the READMEs' figures blocks from docs/figures.json.
    const file: FiguresFile = (await readJson<FiguresFile>(JSON_FILE)) ?? { examples: {} };
    await writeFileAtomic(MD_FILE, renderFigures(file));
    await fillReadmes(repo, file);
    return;
  }
  if (values.help || values.list) {
    console.log('pnpm figures [--only <example,...>] [--max-cost cheap|medium|long] [--list] [--render]');
    for (const e of EXAMPLES) console.log(`  ${e.name.padEnd(24)} ${e.cost.padEnd(7)} ${e.steps.map((s) => s.config).join(', ')}`);
    return;
  }
  const known = new Set(EXAMPLES.map((e) => e.name));
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((n) => !known.has(n)) ?? [];
  if (unknown.length) {
    console.error(`--only: unknown example ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
    process.exit(2);
  }
  const maxCost = values['max-cost'] as (typeof COSTS)[number] | undefined;
  if (maxCost && !COSTS.includes(maxCost)) {
    console.error(`--max-cost: received "${maxCost}"; expected ${COSTS.join(' | ')}`);
    process.exit(2);
  }
  const picked = EXAMPLES.filter((e) => (!only || only.includes(e.name)) && (!maxCost || COSTS.indexOf(e.cost) <= COSTS.indexOf(maxCost)));
  const file: FiguresFile = (await readJson<FiguresFile>(JSON_FILE)) ?? { examples: {} };
  let failed = 0;
  for (const [i, ex] of picked.entries()) {
    console.error(`[figures] ${i + 1}/${picked.length} ${ex.name}`);
    try {
      file.examples[ex.name] = await measure(ex);
    } catch (e) {
      failed++;
      console.error(`[figures] ${ex.name} failed: ${(e as Error).message}`);
      continue;
    }
    // Written after each example, so an interrupted long run keeps what it measured.
    file.examples = Object.fromEntries(EXAMPLES.filter((e) => file.examples[e.name]).map((e) => [e.name, file.examples[e.name]!]));
    await writeJsonAtomic(JSON_FILE, file);
    await writeFileAtomic(MD_FILE, renderFigures(file));
    await fillReadmes(repo, file);
  }
  console.error(`[figures] wrote ${JSON_FILE} and ${MD_FILE}${failed ? `; ${failed} example(s) failed` : ''}`);
  if (failed) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, pipeline, repo, startPipeline } from './helpers.js';

// Issue 22: a run killed with SIGKILL at any point and continued with `pipeline run --resume` ends with the
// same metrics.jsonl (losses bit-identical; only the timing fields differ) and the same test metrics as an
// uninterrupted run. The kill happens when a condition is seen (the chosen epoch's checkpoint exists), never
// after a sleep; which epoch is drawn at random, so every run of the suite kills somewhere else.

type Line = Record<string, unknown>;

let tmp: string;
let sentences: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-resume-'));
  sentences = join(tmp, 'sentences.jsonl');
  const r = await node([join(repo, 'tools/data/prepare-sentiment.ts'), '--out', sentences]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sets = (values: string[]): string[] => values.flatMap((v) => ['--set', v]);

async function readLines(path: string): Promise<Line[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
}

/** metrics.jsonl without the fields that measure time. */
const withoutTiming = (lines: Line[]): Line[] => lines.map(({ seconds: _s, samplesPerSec: _p, ...rest }) => rest);

async function epochOf(stateFile: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(stateFile, 'utf8')) as { epoch: number }).epoch;
  } catch {
    return undefined; // not there yet
  }
}

/**
 * Starts `pipeline run <args> --out <dir>` and kills it with SIGKILL as soon as `<dir>/<checkpoints>/last`
 * holds epoch `epoch` or later. Fails when the run ends before that.
 */
async function runAndKill(args: string[], dir: string, checkpoints: string, epoch: number): Promise<void> {
  const child: ChildProcess = startPipeline(['run', ...args, '--out', dir, '--no-progress']);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  const state = join(dir, checkpoints, 'last', 'state.json');
  // Polls a condition (the checkpoint file's content): how often does not decide the outcome.
  while (!ended && ((await epochOf(state)) ?? 0) < epoch) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  const how = await exited;
  expect(how.signal, `the run ended before it could be killed: ${stderr}`).toBe('SIGKILL');
}

/** Every file and folder name under `dir`, recursively (relative paths). */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), `${rel}/`)));
  }
  return out;
}

interface Scenario {
  args: string[];
  /** Where the checkpoints of each training phase are (one per fine-tuning stage). */
  phases: { checkpoints: string; epochs: number }[];
}

/** One uninterrupted run and one killed at a random epoch then resumed; both must end the same. */
async function expectExactResume(name: string, s: Scenario): Promise<void> {
  const whole = join(tmp, `${name}-whole`);
  const killed = join(tmp, `${name}-killed`);
  // A random point: a phase, and an epoch of it whose checkpoint triggers the kill (somewhere in the next epoch,
  // or while that checkpoint or the next one is being written).
  const phase = s.phases[Math.floor(Math.random() * s.phases.length)]!;
  const epoch = 1 + Math.floor(Math.random() * (phase.epochs - (phase === s.phases.at(-1) ? 1 : 0)));
  const info = `killed after ${phase.checkpoints} epoch ${epoch}`;
  const [a] = await Promise.all([pipeline(['run', ...s.args, '--out', whole, '--no-progress']), runAndKill(s.args, killed, phase.checkpoints, epoch)]);
  expect(a.code, a.stderr).toBe(0);
  const b = await pipeline(['run', '--resume', killed, '--no-progress']);
  expect(b.code, `${info}: ${b.stderr}`).toBe(0);
  expect(b.stderr + b.stdout, info).toMatch(/resuming/);

  const expected = await readLines(join(whole, 'metrics.jsonl'));
  expect(expected.length).toBeGreaterThanOrEqual(2);
  expect(withoutTiming(await readLines(join(killed, 'metrics.jsonl'))), info).toEqual(withoutTiming(expected));
  for (const p of s.phases.filter((x) => x.checkpoints !== 'checkpoints')) {
    const dir = p.checkpoints.replace(/\/checkpoints$/, '');
    expect(withoutTiming(await readLines(join(killed, dir, 'metrics.jsonl'))), `${info}: ${dir}`).toEqual(withoutTiming(await readLines(join(whole, dir, 'metrics.jsonl'))));
  }
  const runA = JSON.parse(await readFile(join(whole, 'run.json'), 'utf8'));
  const runB = JSON.parse(await readFile(join(killed, 'run.json'), 'utf8'));
  expect(runB.status).toBe('completed');
  expect(runB.metrics, info).toEqual(runA.metrics);
  expect(runB.bestEpoch).toEqual(runA.bestEpoch);
  // Nothing half-written or temporary is left behind.
  const leftovers = (await walk(killed)).filter((f) => /(^|\/)\.(tmp-|old-)|\.tmp$/.test(f));
  expect(leftovers, info).toEqual([]);
}

describe('pipeline run --resume after SIGKILL gives the uninterrupted run exactly', () => {
  it('the MNIST CNN with its dropout (600 digits, 3 epochs)', async () => {
    await expectExactResume('mnist', {
      args: ['examples/mnist-cnn/pipeline.yaml', ...sets(['data.source.limit=600', 'data.split.test.source.limit=200', 'train.epochs=3', 'evaluate.gates={}'])],
      phases: [{ checkpoints: 'checkpoints', epochs: 3 }],
    });
  }, 180_000);

  it('the LSTM sentiment model with dropout (600 sentences, 3 epochs)', async () => {
    await expectExactResume('lstm', {
      args: ['examples/sentiment-lstm/pipeline.yaml', ...sets([`data.source.path=${sentences}`, 'data.source.limit=600', 'train.epochs=3', 'evaluate.gates={}'])],
      phases: [{ checkpoints: 'checkpoints', epochs: 3 }],
    });
  }, 180_000);

  it('a fine-tuning run in two stages with per-layer learning rates', async () => {
    const base = join(tmp, 'base');
    const ex = 'examples/finetune-mnist-5-9';
    const r = await pipeline(['run', `${ex}/base.yaml`, ...sets(['data.source.limit=1000', 'data.split.test.source.limit=100', 'train.epochs=1', 'evaluate.gates={}']), '--out', base, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    await expectExactResume('finetune', {
      args: [
        `${ex}/finetune.yaml`,
        ...sets([`finetune.base=${base}`, 'data.split.test.source.limit=200', 'evaluate.gates={}', 'finetune.stages[0].epochs=2', 'finetune.stages[1].epochs=2']),
      ],
      phases: [
        { checkpoints: 'stages/1/checkpoints', epochs: 2 },
        { checkpoints: 'stages/2/checkpoints', epochs: 2 },
      ],
    });
  }, 240_000);
});

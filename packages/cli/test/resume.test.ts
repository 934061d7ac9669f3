import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, pipeline, repo, startPipeline } from './helpers.js';

// Issue 22: a run killed with SIGKILL at any point and continued with `pipeline run --resume` ends with the
// same metrics.jsonl (losses bit-identical; only the timing fields differ) and the same test metrics as an
// uninterrupted run. The kill happens when conditions on the run's files are seen (the chosen epoch's
// checkpoint exists, then N more steps are logged), never after a sleep; epoch and N are drawn at random, so
// every run of the suite kills somewhere else (the point chosen is in the test's name on failure).

type Line = Record<string, unknown>;

let tmp: string;
let sentences: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-resume-'));
  sentences = join(tmp, 'sentences.jsonl');
  const r = await node([join(repo, 'tools/data/prepare-sentiment.ts'), '--out', sentences]);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);

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

/** TFRecords in the phase's TensorBoard event files: with `train.logEverySteps=1`, one more per training step. */
async function records(dir: string): Promise<number> {
  let n = 0;
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const f of files.filter((x) => x.startsWith('events.out.tfevents.'))) {
    const buf = await readFile(join(dir, f));
    // A record: uint64 length, 4-byte crc, data, 4-byte crc. A torn last record is not counted.
    for (let at = 0; at + 12 <= buf.length; n++) {
      const len = Number(buf.readBigUInt64LE(at));
      if (at + 16 + len > buf.length) break;
      at += 16 + len;
    }
  }
  return n;
}

/**
 * Starts `pipeline run <args> --out <dir>` and kills it with SIGKILL at a point chosen by conditions on the
 * run's own files, never by time: once the phase's checkpoint holds `epoch` (or, for epoch 0, once the
 * phase has started), after `steps` more training steps have been logged — or as soon as the next epoch's
 * checkpoint appears, whichever comes first. Fails when the run ends before it is killed.
 */
async function runAndKill(args: string[], dir: string, phaseDir: string, epoch: number, steps: number): Promise<void> {
  const child: ChildProcess = startPipeline(['run', ...args, '--out', dir, '--no-progress']);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  const phase = join(dir, phaseDir);
  const state = join(phase, 'checkpoints', 'last', 'state.json');
  // Polls conditions (file contents): how often does not decide the outcome, only where in the epoch the kill lands.
  const poll = () => new Promise((r) => setTimeout(r, 5));
  const started = async () => (epoch === 0 ? (await records(phase)) > 0 : ((await epochOf(state)) ?? 0) >= epoch);
  while (!ended && !(await started())) await poll();
  const from = await records(phase);
  while (!ended && (await records(phase)) < from + steps && ((await epochOf(state)) ?? 0) <= epoch) await poll();
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
  /** Each training phase's folder in the run directory ('' for the run itself; `stages/<n>` when fine-tuning in stages). */
  phases: { dir: string; epochs: number }[];
}

/** One uninterrupted run and one killed at a random epoch then resumed; both must end the same. */
async function expectExactResume(name: string, s: Scenario): Promise<void> {
  const whole = join(tmp, `${name}-whole`);
  const killed = join(tmp, `${name}-killed`);
  // A random point: a phase, an epoch of it (0: before its first checkpoint), and a step of the next epoch.
  const phase = s.phases[Math.floor(Math.random() * s.phases.length)]!;
  // In the last phase, at least one whole epoch is left after the chosen point: the run cannot end first.
  const epoch = Math.floor(Math.random() * (phase === s.phases.at(-1) ? phase.epochs - 1 : phase.epochs));
  const steps = 1 + Math.floor(Math.random() * 10);
  const info = `killed in ${phase.dir || 'the run'} after epoch ${epoch} + ${steps} step(s)`;
  console.info(`${name}: ${info}`);
  const args = [...s.args, '--set', 'train.logEverySteps=1'];
  const [a] = await Promise.all([pipeline(['run', ...args, '--out', whole, '--no-progress']), runAndKill(args, killed, phase.dir, epoch, steps)]);
  expect(a.code, a.stderr).toBe(0);
  const b = await pipeline(['run', '--resume', killed, '--no-progress']);
  expect(b.code, `${info}: ${b.stderr}`).toBe(0);
  expect(b.stderr + b.stdout, info).toMatch(/resuming/);

  const expected = await readLines(join(whole, 'metrics.jsonl'));
  expect(expected.length).toBeGreaterThanOrEqual(2);
  expect(withoutTiming(await readLines(join(killed, 'metrics.jsonl'))), info).toEqual(withoutTiming(expected));
  for (const { dir } of s.phases.filter((x) => x.dir)) {
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
      phases: [{ dir: '', epochs: 3 }],
    });
  }, 300_000);

  it('the LSTM sentiment model with dropout (600 sentences, 3 epochs)', async () => {
    await expectExactResume('lstm', {
      args: ['examples/sentiment-lstm/pipeline.yaml', ...sets([`data.source.path=${sentences}`, 'data.source.limit=600', 'train.epochs=3', 'evaluate.gates={}'])],
      phases: [{ dir: '', epochs: 3 }],
    });
  }, 300_000);

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
        { dir: 'stages/1', epochs: 2 },
        { dir: 'stages/2', epochs: 2 },
      ],
    });
  }, 300_000);
});

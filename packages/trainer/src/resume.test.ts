import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystemIO, readJsonLines } from '@tfpipe/core';
import { tinyModel } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EpochLog, checkpointDir, fit, readState } from './index.js';
import { tinyBatches } from './__fixtures__/data.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const script = join(here, '__fixtures__', 'train-run.ts');
const repoRoot = resolve(here, '../../..');

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=@tfpipe/source', '--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with stdout once the child exits. */
function finish(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, out, err })));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('resume after a crash', () => {
  it('continues a run killed with SIGKILL mid-epoch: same epochs, metrics.jsonl without duplicates, loadable checkpoints', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-trainer-kill-'));
    const epochs = 5;
    const child = start([runDir, String(epochs), 'fresh', '40']);
    const done = finish(child);
    // Kill in the middle of epoch 3 (6 steps per epoch): after its 2nd step.
    await new Promise<void>((res) => {
      let buf = '';
      child.stdout!.on('data', (d) => {
        buf += d;
        if (/^step 3 2 /m.test(buf)) {
          child.kill('SIGKILL');
          res();
        }
      });
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.out).not.toMatch(/^epoch 3$/m);
    const before = await readJsonLines<EpochLog>(join(runDir, 'metrics.jsonl'));
    expect(before.map((l) => l.epoch)).toEqual([1, 2]);
    expect((await readState(checkpointDir(runDir, 'last'))).epoch).toBe(2);

    const resumed = await finish(start([runDir, String(epochs), 'resume', '0']));
    expect(resumed.code, resumed.err).toBe(0);
    // The resumed run starts at epoch 3, step 13, and ends after epoch 5 (5 * 6 steps in all).
    expect(resumed.out).toMatch(/^step 3 1 13$/m);
    expect(resumed.out).not.toMatch(/^step [12] /m);
    expect(resumed.out).toMatch(/^done completed 5 30$/m);

    const lines = await readJsonLines<EpochLog>(join(runDir, 'metrics.jsonl'));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.slice(0, 2)).toEqual(before);
    const state = await readState(checkpointDir(runDir, 'last'));
    expect(state.epoch).toBe(5);
    expect(state.step).toBe(30);
    expect(state.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);

    for (const name of ['last', 'best'] as const) {
      const m = await tfl.loadLayersModel(fileSystemIO(checkpointDir(runDir, name)));
      const p = m.predict(tf.ones([1, 4])) as tf.Tensor;
      expect(p.shape).toEqual([1, 3]);
      p.dispose();
      m.dispose();
    }
    const best = await readState(checkpointDir(runDir, 'best'));
    const bestLine = lines.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    expect(best.epoch).toBe(bestLine.epoch);
    const leftovers = (await readdir(join(runDir, 'checkpoints'))).filter((e) => e.startsWith('.'));
    expect(leftovers).toEqual([]);
  });

  it('a resumed run matches an uninterrupted one (same weights after the same epochs)', async () => {
    const cfg = { epochs: 4, optimizer: { type: 'adam' as const, learningRate: 0.02 }, checkpoint: { every: 1, best: false } };
    const common = { train: tinyBatches(), task: { kind: 'multiclass' as const, classes: 3 }, seed: 9 };
    const whole = tinyModel();
    const a = await fit(whole, { ...common, config: cfg });

    const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-trainer-resume-'));
    const first = tinyModel();
    const controller = new AbortController();
    const stopped = await fit(first, { ...common, config: cfg, runDir, signal: controller.signal, callbacks: [abortAfter(2, controller)] });
    expect(stopped.stopReason).toBe('interrupted');
    expect(stopped.epochsRun).toBe(2);
    const second = tinyModel(4, 3, 42); // other initial weights: the checkpoint must replace them
    const b = await fit(second, { ...common, config: cfg, runDir, resume: true });
    expect(b.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(b.history[3]!.loss).toBeCloseTo(a.history[3]!.loss, 5);
    const wa = whole.getWeights();
    const wb = second.getWeights();
    wa.forEach((t, i) => {
      const d = tf.max(tf.abs(tf.sub(t, wb[i]!))).dataSync()[0]!;
      expect(d).toBeLessThan(1e-5);
    });
    for (const m of [whole, first, second]) m.dispose();
    expect(JSON.parse(await readFile(join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')).epoch).toBe(4);
  });
});

/** Ctrl-C right after an epoch: the next step sees the aborted signal. */
function abortAfter(epoch: number, controller: AbortController) {
  return {
    onEpochEnd(ctx: { epoch: number }) {
      if (ctx.epoch === epoch) controller.abort();
    },
  };
}

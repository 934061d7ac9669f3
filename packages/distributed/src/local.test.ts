import { mkdtemp, readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { readJsonLines } from '@tfpipe/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTrial as irisRunner } from './__fixtures__/iris-runner.js';
import { runTrial as quadraticRunner, score } from './__fixtures__/quadratic-runner.js';
import {
  type SweepSummary,
  type TrialResult,
  createLocalExecutor,
  expandSweep,
  formatSweepTable,
  runSweep,
  runSweepLocally,
  sweepStatus,
} from './index.js';

const fixture = (f: string) => fileURLToPath(new URL(`./__fixtures__/${f}`, import.meta.url));
const QUADRATIC = `${fixture('quadratic-runner.ts')}#runTrial`;
const IRIS = `${fixture('iris-runner.ts')}#runTrial`;
const tmp = () => mkdtemp(join(tmpdir(), 'tfpipe-sweep-'));
const quadBase = { name: 'quad', seed: 3, objective: { x: 0, y: 0, epochs: 1 }, work: { ms: 0, alwaysFail: false, crash: false } };
const irisBase = { name: 'iris', seed: 5, data: { split: {} }, train: { learningRate: 0.1, epochs: 40 } };

async function readResult(sweepDir: string, id: string): Promise<TrialResult> {
  return JSON.parse(await readFile(join(sweepDir, 'trials', id, 'result.json'), 'utf8')) as TrialResult;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('local executor (child processes)', () => {
  it('runs a grid in parallel children and ranks the known optimum first', async () => {
    const sweepDir = await tmp();
    const summary = await runSweepLocally({
      config: quadBase,
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0, 0.3, 0.6], 'objective.y': [1, 2] } },
      sweepDir,
      runner: QUADRATIC,
      parallel: 2,
    });
    expect(summary.status).toBe('completed');
    expect(summary.trials).toHaveLength(6);
    const pids = new Set<number>();
    for (const row of summary.trials) {
      const x = row.params['objective.x'] as number;
      const y = row.params['objective.y'] as number;
      expect(row.status).toBe('completed');
      expect(row.metric).toBeCloseTo(-((x - 0.3) ** 2) - (y - 2) ** 2, 12);
      // Each trial ran in a child process of ours (at most `parallel` of them), with its own seed.
      const starts = await readJsonLines<{ pid: number; ppid: number; maxThreads: string | null }>(join(sweepDir, 'trials', row.id, 'starts.jsonl'));
      expect(starts).toHaveLength(1);
      expect(starts[0]!.pid).not.toBe(process.pid);
      expect(starts[0]!.ppid).toBe(process.pid);
      // Two trials at once share the cores: each child's wasm backend may use half of them.
      expect(starts[0]!.maxThreads).toBe(process.env.TFPIPE_WASM_MAX_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / 2))));
      expect(row.worker).toBe(`local:${starts[0]!.pid}`);
      pids.add(starts[0]!.pid);
      expect(row.metrics.seed).toBe(row.seed);
    }
    expect(pids.size).toBeGreaterThanOrEqual(1);
    expect(pids.size).toBeLessThanOrEqual(2);
    expect(new Set(summary.trials.map((r) => r.seed)).size).toBe(6);
    expect(summary.best?.params).toEqual({ 'objective.x': 0.3, 'objective.y': 2 });
    expect(summary.best?.metric).toBeCloseTo(score(0.3, 2), 12);
    const onDisk = JSON.parse(await readFile(join(sweepDir, 'sweep.json'), 'utf8')) as SweepSummary;
    expect(onDisk.status).toBe('completed');
    expect(onDisk.best?.trials).toEqual(['trial-003']);
    const svg = await readFile(join(sweepDir, 'sweep.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(12); // 6 points in each of 2 panels
    expect(svg.match(/class="best"/g)).toHaveLength(2);
    const status = await sweepStatus(sweepDir);
    expect(status.trials.map((r) => r.status)).toEqual(Array(6).fill('completed'));
    const table = formatSweepTable(status);
    expect(table.split('\n')[0]).toMatch(/^trial\s+objective\.x\s+objective\.y\s+status\s+score\s+seconds$/);
    expect(table).toContain('best: trial-003 score=0');
  });

  it('cross-validates a real tfjs model on iris: k folds per point, mean ± std', async () => {
    const sweepDir = await tmp();
    const summary = await runSweepLocally({
      config: irisBase,
      sweep: { metric: 'val_accuracy', direction: 'max', kfold: 3, parameters: { 'train.learningRate': [0.005, 0.5] } },
      sweepDir,
      runner: IRIS,
      parallel: 2,
    });
    expect(summary.trials).toHaveLength(6);
    expect(summary.points).toHaveLength(2);
    for (const p of summary.points) {
      const values = await Promise.all(p.trials.map(async (id) => (await readResult(sweepDir, id)).metrics.val_accuracy!));
      const mean = values.reduce((a, b) => a + b, 0) / 3;
      expect(p.mean).toBeCloseTo(mean, 12);
      expect(p.std).toBeCloseTo(Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 3), 12);
    }
    // 40 steps at 0.5 separates iris well; at 0.005 the weights barely move.
    const fast = summary.points.find((p) => p.params['train.learningRate'] === 0.5)!;
    const slow = summary.points.find((p) => p.params['train.learningRate'] === 0.005)!;
    expect(fast.mean!).toBeGreaterThan(0.8);
    expect(fast.mean!).toBeGreaterThan(slow.mean!);
    expect(summary.best?.params['train.learningRate']).toBe(0.5);
    expect(summary.best?.std).toBe(fast.std);
    expect(formatSweepTable(summary)).toContain(`best: trial-001 val_accuracy=${Number(fast.mean!.toPrecision(4))} ± `);
  });

  it('a failing trial fails the sweep clearly; onTrialFailure: continue records it', async () => {
    const sweepDir = await tmp();
    const sweep = { metric: 'score', direction: 'max' as const, parameters: { 'objective.x': [0.1, 0.2], 'work.alwaysFail': [true] } };
    await expect(runSweepLocally({ config: quadBase, sweep, sweepDir, runner: QUADRATIC, parallel: 1 })).rejects.toThrow(
      /trial trial-000 failed after 1 attempt\(s\): objective failed on purpose at x=0.1/,
    );
    const onDisk = JSON.parse(await readFile(join(sweepDir, 'sweep.json'), 'utf8')) as SweepSummary;
    expect(onDisk.status).toBe('failed');
    expect(onDisk.error).toMatch(/trial-000 failed/);

    const dir2 = await tmp();
    const s2 = await runSweepLocally({
      config: quadBase,
      sweep: { ...sweep, parameters: { 'objective.x': [0.1, 0.2] }, onTrialFailure: 'continue' },
      sweepDir: dir2,
      runner: async (trial, ctx) => ((trial.params['objective.x'] as number) < 0.15 ? Promise.reject(new Error('boom')) : quadraticRunner(trial, ctx)),
    });
    expect(s2.status).toBe('completed');
    expect(s2.trials.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(s2.trials[0]!.error).toBe('boom');
    expect(s2.best?.params['objective.x']).toBe(0.2);
  });

  it('a child that dies mid-trial fails that trial only; the next trial gets a new process', async () => {
    const sweepDir = await tmp();
    const summary = await runSweepLocally({
      config: quadBase,
      sweep: { metric: 'score', direction: 'max', parameters: { 'work.crash': [true, false] }, onTrialFailure: 'continue' },
      sweepDir,
      runner: QUADRATIC,
      parallel: 1,
    });
    expect(summary.trials.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(summary.trials[0]!.error).toMatch(/the trial process exited with code 3 before reporting a result \(see .*trial-000.trial\.log\)/);
    const [crashed] = await readJsonLines<{ pid: number }>(join(sweepDir, 'trials', 'trial-000', 'starts.jsonl'));
    const [next] = await readJsonLines<{ pid: number }>(join(sweepDir, 'trials', 'trial-001', 'starts.jsonl'));
    expect(next!.pid).not.toBe(crashed!.pid);
  });

  it('reuseProcesses: false runs each trial in a fresh process', async () => {
    const sweepDir = await tmp();
    const summary = await runSweep({
      config: quadBase,
      sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1, 0.25, 0.5] } },
      sweepDir,
      executor: createLocalExecutor({ runner: QUADRATIC, parallel: 1, reuseProcesses: false }),
    });
    const pids = await Promise.all(
      summary.trials.map(async (r) => (await readJsonLines<{ pid: number }>(join(sweepDir, 'trials', r.id, 'starts.jsonl')))[0]!.pid),
    );
    expect(new Set(pids).size).toBe(3);
    expect(summary.best?.params['objective.x']).toBe(0.25);
  });

  it('times out instead of waiting forever, and stops the children', async () => {
    const sweepDir = await tmp();
    await expect(
      runSweepLocally({
        config: { ...quadBase, work: { ...quadBase.work, ms: 60_000 } },
        sweep: { metric: 'score', direction: 'max', parameters: { 'objective.x': [0.1] }, timeoutSeconds: 1 },
        sweepDir,
        runner: QUADRATIC,
      }),
    ).rejects.toThrow(/ran past its timeout of 1 s/);
    const onDisk = JSON.parse(await readFile(join(sweepDir, 'sweep.json'), 'utf8')) as SweepSummary;
    expect(onDisk.status).toBe('failed');
  });

  it('a metric the runner does not report fails the trial with the names it did report', async () => {
    await expect(
      runSweepLocally({
        config: quadBase,
        sweep: { metric: 'accuracy', direction: 'max', parameters: { 'objective.x': [0.1] } },
        sweepDir: await tmp(),
        runner: quadraticRunner,
      }),
    ).rejects.toThrow(/reported metrics score, loss, seed; sweep.metric "accuracy" is not among them/);
  });
});

describe('successive halving', () => {
  it('runs rungs with growing resource and promotes the best third (in-process runner)', async () => {
    const sweepDir = await tmp();
    const seenEpochs: number[] = [];
    const summary = await runSweepLocally({
      config: quadBase,
      sweep: {
        method: 'halving',
        budget: 9,
        seed: 11,
        metric: 'score',
        direction: 'max',
        halving: { resource: 'objective.epochs', min: 1, max: 9, eta: 3 },
        parameters: { 'objective.x': { uniform: [-1, 1] }, 'objective.y': { uniform: [0, 4] } },
      },
      sweepDir,
      runner: (trial, ctx) => {
        seenEpochs.push((trial.config as typeof quadBase).objective.epochs);
        return quadraticRunner(trial, ctx);
      },
      parallel: 3,
    });
    expect(seenEpochs.sort((a, b) => a - b)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9]);
    const byRung = (r: number) => summary.trials.filter((t) => (t.rung ?? 0) === r);
    const scoreOf = (p: Record<string, unknown>) => score(p['objective.x'] as number, p['objective.y'] as number);
    // The three promoted points are the three best of rung 0, computed here from the objective itself.
    const top3 = byRung(0)
      .map((t) => ({ point: t.point, s: scoreOf(t.params) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 3)
      .map((t) => t.point);
    expect(byRung(1).map((t) => t.point)).toEqual(top3);
    expect(byRung(2).map((t) => t.point)).toEqual([top3[0]]);
    expect(summary.best).toMatchObject({ point: top3[0], rung: 2 });
    expect(summary.trials.map((t) => t.index)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    // Same seed and sweep → the same points.
    const again = expandSweep(quadBase, {
      method: 'halving',
      budget: 9,
      seed: 11,
      metric: 'score',
      direction: 'max',
      halving: { resource: 'objective.epochs', min: 1, max: 9, eta: 3 },
      parameters: summary.parameters,
    });
    expect(again.map((t) => t.params)).toEqual(byRung(0).map((t) => t.params));
  });
});

describe('iris runner', () => {
  it('does not leak tensors', async () => {
    const dir = await tmp();
    const [trial] = expandSweep(irisBase, { metric: 'val_accuracy', direction: 'max', parameters: { 'train.epochs': [3] } });
    await expectNoLeakedTensors(() => irisRunner(trial!, { runDir: dir, signal: new AbortController().signal }), 2);
  });
});

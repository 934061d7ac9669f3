/**
 * A real runner with no model: it scores the point (x, y) of its config with a known function, so tests can
 * check which trial is best by hand. It can also take time (to be killed mid-trial) and fail on purpose.
 *
 *   objective: { x, y }   score = -(x - 0.3)^2 - (y - 2)^2, loss = -score
 *   work: { ms, failAttempts, alwaysFail, crash, afterStartOf, untilFile }   crash: the process exits mid-trial;
 *   afterStartOf: the id of a sibling trial whose start this one waits for before it goes on; untilFile: a path
 *   the trial waits for before it finishes (the test creates it): orderings that tests can rely on however slow
 *   the machine is.
 */
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Trial, TrialContext, TrialOutput } from '../types.js';

interface QuadraticConfig {
  objective: { x: number; y: number };
  work?: { ms?: number; failAttempts?: number; alwaysFail?: boolean; crash?: boolean; afterStartOf?: string; untilFile?: string };
  seed?: number;
}

export function score(x: number, y: number): number {
  return -((x - 0.3) ** 2) - (y - 2) ** 2;
}

export async function runTrial(trial: Trial, ctx: TrialContext): Promise<TrialOutput> {
  const config = trial.config as QuadraticConfig;
  await mkdir(ctx.runDir, { recursive: true });
  // Every start is recorded with the process that ran it, its parent (the queue worker) and its share of the cores.
  const maxThreads = process.env.TFPIPE_WASM_MAX_THREADS ?? null;
  await appendFile(join(ctx.runDir, 'starts.jsonl'), `${JSON.stringify({ pid: process.pid, ppid: process.ppid, at: Date.now(), maxThreads })}\n`);
  const starts = (await readFile(join(ctx.runDir, 'starts.jsonl'), 'utf8')).trim().split('\n').length;
  const work = config.work ?? {};
  if (work.afterStartOf) await waitForFile(join(ctx.runDir, '..', work.afterStartOf, 'starts.jsonl'), ctx.signal);
  if (work.untilFile) await waitForFile(work.untilFile, ctx.signal);
  if (work.ms) {
    await new Promise<void>((done, fail) => {
      // The signal may have fired while this trial was starting: a listener added now would never run.
      if (ctx.signal.aborted) return fail(new Error('aborted'));
      const t = setTimeout(done, work.ms);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          fail(new Error('aborted'));
        },
        { once: true },
      );
    });
  }
  if (work.crash) process.exit(3);
  if (work.alwaysFail) throw new Error(`objective failed on purpose at x=${config.objective.x}`);
  if (work.failAttempts && starts <= work.failAttempts) throw new Error(`failing start ${starts} of ${work.failAttempts} on purpose`);
  const s = score(config.objective.x, config.objective.y);
  await writeFile(join(ctx.runDir, 'score.txt'), `${s}\n`);
  return { metrics: { score: s, loss: -s, seed: trial.seed }, runDir: ctx.runDir };
}

/** Waits until `path` exists (a condition, polled), or fails with 'aborted' when the trial is stopped. */
async function waitForFile(path: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw new Error('aborted');
    if (await access(path).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

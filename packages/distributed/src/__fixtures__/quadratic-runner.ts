/**
 * A real runner with no model: it scores the point (x, y) of its config with a known function, so tests can
 * check which trial is best by hand. It can also take time (to be killed mid-trial) and fail on purpose.
 *
 *   objective: { x, y }   score = -(x - 0.3)^2 - (y - 2)^2, loss = -score
 *   work: { ms, failAttempts, alwaysFail, crash, afterStartOf, journal, bytes }   crash: the process exits mid-trial;
 *   afterStartOf: the id of a sibling trial whose start this one waits for before it goes on (an ordering
 *   that tests can rely on however slow the machine is); journal: a folder of the test's where every start is
 *   also recorded (`<trial id>.jsonl`), for queue workers that run trials in scratch folders of their own;
 *   bytes: the size of a file `data.bin` of seeded bytes the trial leaves (to upload); model: the trial also
 *   leaves `run/model/weights.bin` (its score as text), standing in for a pipeline's model folder.
 */
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Trial, TrialContext, TrialOutput } from '../types.js';

interface QuadraticConfig {
  objective: { x: number; y: number };
  work?: { ms?: number; failAttempts?: number; alwaysFail?: boolean; crash?: boolean; afterStartOf?: string; journal?: string; bytes?: number; model?: boolean; untilFile?: string };
  seed?: number;
}

export function score(x: number, y: number): number {
  return -((x - 0.3) ** 2) - (y - 2) ** 2;
}

/** The `bytes` bytes a trial with `seed` writes to data.bin (an xorshift stream: every chunk differs). */
export function seededBytes(seed: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let s = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

export async function runTrial(trial: Trial, ctx: TrialContext): Promise<TrialOutput> {
  const config = trial.config as QuadraticConfig;
  await mkdir(ctx.runDir, { recursive: true });
  // Every start is recorded with the process that ran it, its parent (the queue worker) and its share of the cores.
  const maxThreads = process.env.TFPIPE_WASM_MAX_THREADS ?? null;
  const work = config.work ?? {};
  const start = `${JSON.stringify({ pid: process.pid, ppid: process.ppid, at: Date.now(), maxThreads, attempt: ctx.attempt ?? null })}\n`;
  await appendFile(join(ctx.runDir, 'starts.jsonl'), start);
  if (work.journal) await appendFile(join(work.journal, `${trial.id}.jsonl`), start);
  // The try this is: from the executor when it says, else from the starts recorded beside the trial.
  const starts = ctx.attempt ?? (await readFile(join(ctx.runDir, 'starts.jsonl'), 'utf8')).trim().split('\n').length;
  if (work.bytes) await writeFile(join(ctx.runDir, 'data.bin'), seededBytes(trial.seed, work.bytes));
  if (work.afterStartOf) {
    const sibling = work.journal ? join(work.journal, `${work.afterStartOf}.jsonl`) : join(ctx.runDir, '..', work.afterStartOf, 'starts.jsonl');
    for (;;) {
      if (ctx.signal.aborted) throw new Error('aborted');
      if (await access(sibling).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  // untilFile: the trial does not finish before the test creates this file (an ordering that holds however slow the machine).
  if (work.untilFile) {
    for (;;) {
      if (ctx.signal.aborted) throw new Error('aborted');
      if (await access(work.untilFile).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
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
  if (work.model) {
    await mkdir(join(ctx.runDir, 'run', 'model'), { recursive: true });
    await writeFile(join(ctx.runDir, 'run', 'model', 'weights.bin'), `${s}\n`);
    return { metrics: { score: s, loss: -s, seed: trial.seed }, runDir: join(ctx.runDir, 'run') };
  }
  return { metrics: { score: s, loss: -s, seed: trial.seed }, runDir: ctx.runDir };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers shared by the end-to-end tests: run the real `pipeline` binary from source. */
export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const bin = join(repo, 'packages/cli/src/bin.ts');
/** Node flags that run TypeScript sources through the workspace's source export condition. */
export const SOURCE_FLAGS = ['--conditions=@tfpipe/source', '--import', 'tsx'];

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Starts a command with piped output, no colours. */
export function start(cmd: string, args: string[], cwd = repo, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(cmd, args, { cwd, env: { ...env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command to its end and collects its exit code and output. */
export function spawnResult(cmd: string, args: string[], cwd = repo, env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((res, rej) => {
    const child = start(cmd, args, cwd, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

/** A TypeScript script of the repository (a tools/ script), run from source. */
export const node = (args: string[], cwd = repo, env: NodeJS.ProcessEnv = process.env): Promise<Result> => spawnResult(process.execPath, [...SOURCE_FLAGS, ...args], cwd, env);

/** `pipeline <args>`, the real binary from source. */
export const pipeline = (args: string[], cwd = repo): Promise<Result> => node([bin, ...args], cwd);

/** `pipeline <args>` left running (workers, servers); the caller stops it. */
export const startPipeline = (args: string[], cwd = repo): ChildProcess => start(process.execPath, [...SOURCE_FLAGS, bin, ...args], cwd);

/** A run's evaluation.json, as far as the quality checks read it. */
export interface QualityEvaluation {
  metrics: Record<string, number>;
  confusionMatrix?: { labels: string[]; matrix: number[][] };
}

/**
 * What a model that always answers the most frequent class scores on the evaluation's own rows (the largest row
 * of the confusion matrix over the total). Quality thresholds sit above this with a margin, so that a broken
 * model (constant output, untrained weights) cannot pass them.
 */
export function majorityRate(ev: QualityEvaluation): number {
  const m = ev.confusionMatrix?.matrix;
  if (!m || m.length === 0) throw new Error('evaluation.json has no confusion matrix (add confusionMatrix to evaluate.metrics)');
  const rows = m.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rows.reduce((a, b) => a + b, 0);
  return Math.max(...rows) / total;
}

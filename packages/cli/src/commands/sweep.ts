import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TfpipeError, consoleLogger } from '@tfpipe/core';
import {
  createSweepId,
  emitKubernetes,
  formatSweepTable,
  resolveSweep,
  runSweepLocally,
  runSweepOnQueue,
  runTrialFile,
  sweepStatus,
  type SweepSummary,
} from '@tfpipe/distributed';
import { absolutizeDataPaths, loadPipelineConfig, pipelineConfigFromObject } from '@tfpipe/pipeline';

/** The module that runs one trial, as a reference a child process or a worker can import. */
export function trialRunnerRef(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return `${join(here, '..', `trial-runner.${ext}`)}#runTrial`;
}

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

/** `--redis-timeout`: a number of seconds > 0, else E_USAGE naming the option, the value and what is allowed. */
export function redisTimeoutOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new TfpipeError('E_USAGE', `--redis-timeout: received "${value}"; expected a number of seconds > 0`);
  }
  return n;
}

const MODELS = ['best', 'all', 'none'] as const;

interface SweepOpts {
  set?: string[];
  queue?: string;
  parallel?: number;
  emit?: string;
  out?: string;
  timeout?: number;
  image?: string;
  volume?: string;
  namespace?: string;
  models?: string;
  redisTimeout?: string;
  artifacts?: string;
}

export async function sweepCommand(file: string | undefined, opts: SweepOpts): Promise<void> {
  if (!file) throw new TfpipeError('E_USAGE', 'pipeline sweep needs a config file with a sweep: section');
  const loaded = await loadPipelineConfig(file, { set: opts.set ?? [] });
  // Trials run in other processes (or machines): give them absolute data paths.
  const raw = absolutizeDataPaths(loaded.raw, loaded.baseDir);
  const base = pipelineConfigFromObject(raw, { baseDir: loaded.baseDir, name: file, ...(loaded.registries ? { registries: loaded.registries } : {}) }).config;
  const sweep = resolveSweep(base, (raw as { sweep?: unknown }).sweep as never);
  const sweepId = createSweepId(base.name);
  const sweepDir = resolve(opts.out ?? join(base.output.dir, sweepId));

  if (opts.emit) {
    const format = opts.emit === 'argo' ? 'argo' : opts.emit === 'k8s' || opts.emit === 'job' ? 'job' : undefined;
    if (!format) throw new TfpipeError('E_USAGE', `--emit ${opts.emit}: expected k8s (an Indexed Job) or argo (an Argo Workflow)`);
    const out = await emitKubernetes(
      { config: raw, sweep },
      {
        image: opts.image ?? 'tfpipe:latest',
        // With --queue: a pool of queue workers, no volume (issue 21); else one pod per trial on the volume.
        ...(opts.queue ? { workers: { queue: opts.queue } } : { sharedVolume: opts.volume ?? 'tfpipe-runs' }),
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        format,
        sweepId,
        outDir: sweepDir,
      },
    );
    process.stdout.write(`wrote ${out.file ?? sweepDir} (${out.trials.length} trials, ${out.manifests.length} manifests)\n`);
    // Say where the pods will read data from, and which locations only this machine has.
    const reach = { url: 'a URL: every pod reads it', volume: 'on the volume the manifest mounts', local: 'a path on this machine: pods must have it at this path (in the image), else use an https:// URL' };
    for (const d of out.data) process.stdout.write(`data: ${d.path} = ${d.value} (${reach[d.reach]})\n`);
    if (opts.queue) {
      process.stdout.write(`then run the coordinator: pipeline sweep ${file} --queue ${opts.queue} --out ${join(base.output.dir, out.sweepId)}\n`);
    }
    return;
  }

  const models = (opts.models ?? 'best') as (typeof MODELS)[number];
  if (!MODELS.includes(models)) throw new TfpipeError('E_USAGE', `--models: received "${opts.models}"; expected ${MODELS.join(' | ')}`);
  const redisTimeoutSeconds = redisTimeoutOption(opts.redisTimeout);

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  const timer = opts.timeout ? setTimeout(() => controller.abort(), opts.timeout * 1000) : undefined;
  const common = { config: raw, sweep, sweepDir, sweepId, signal: controller.signal, logger: consoleLogger };
  process.stderr.write(`sweep ${sweepId}: ${sweep.metric} (${sweep.direction}) in ${sweepDir}\n`);
  let summary: SweepSummary;
  try {
    summary = opts.queue
      ? await runSweepOnQueue({
          ...common,
          connection: opts.queue,
          models,
          ...(redisTimeoutSeconds ? { redisTimeoutSeconds } : {}),
          ...(opts.artifacts ? { artifacts: opts.artifacts } : {}),
        })
      : await runSweepLocally({ ...common, runner: trialRunnerRef(), ...(opts.parallel ? { parallel: opts.parallel } : {}) });
  } finally {
    process.off('SIGINT', onSignal);
    if (timer) clearTimeout(timer);
  }
  process.stdout.write(withNewline(formatSweepTable(summary)));
  if (summary.status !== 'completed') process.exitCode = 1;
}

export async function sweepStatusCommand(dir: string): Promise<void> {
  process.stdout.write(withNewline(formatSweepTable(await sweepStatus(dir))));
}

export async function runTrialCommand(opts: { trial: string; sweepDir: string; summary?: string }): Promise<void> {
  const result = await runTrialFile({
    trialFile: opts.trial,
    sweepDir: opts.sweepDir,
    runner: trialRunnerRef(),
    ...(opts.summary ? { summaryFile: opts.summary } : {}),
  });
  process.stdout.write(`${result.id}: ${result.status}\n`);
  if (result.status !== 'completed') process.exitCode = 1;
}

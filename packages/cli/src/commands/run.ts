import { join } from 'node:path';
import { TfpipeError, consoleLogger } from '@tfpipe/core';
import { createProgressRenderer, loadPipelineConfig, RUN_FILES, runPipeline } from '@tfpipe/pipeline';
import { createRunProgress } from '../progress.js';

interface RunOpts {
  set?: string[];
  runsDir?: string;
  out?: string;
  resume?: string;
  progress?: boolean;
  json?: boolean;
}

export async function runCommand(file: string | undefined, opts: RunOpts): Promise<void> {
  let configFile = file;
  if (opts.resume) {
    // A resumed run repeats its own resolved config; --set may not change it.
    if (opts.set?.length) throw new TfpipeError('E_USAGE', '--resume continues a run with its saved config; --set cannot be combined with it');
    configFile = join(opts.resume, RUN_FILES.config);
  }
  if (!configFile) throw new TfpipeError('E_USAGE', 'pipeline run needs a config file (or --resume <run-dir>)');
  const loaded = await loadPipelineConfig(configFile, { set: opts.set ?? [] });
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupt: finishing the current step, saving a checkpoint and the best weights (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = opts.progress !== false && Boolean(process.stderr.isTTY);
  const renderer = createRunProgress({ stream: process.stderr, tty, trainer: createProgressRenderer({ stream: process.stderr, tty }) });
  try {
    const result = await runPipeline(loaded, {
      ...(opts.runsDir ? { runsDir: opts.runsDir } : {}),
      ...(opts.out ? { out: opts.out } : {}),
      ...(opts.resume ? { resume: opts.resume } : {}),
      logger: consoleLogger,
      onProgress: (e) => renderer.training(e),
      onDataProgress: (e) => renderer.data(e),
      signal: controller.signal,
    });
    renderer.done();
    const m = result.evaluation?.metrics ?? {};
    const summary = Object.entries(m)
      .filter(([, v]) => typeof v === 'number')
      .slice(0, 6)
      .map(([k, v]) => `${k}=${(v as number).toFixed(4)}`)
      .join('  ');
    if (opts.json) process.stdout.write(`${JSON.stringify({ runDir: result.runDir, status: result.info.status, metrics: m, bestEpoch: result.fit.bestEpoch })}\n`);
    else process.stdout.write(`done: ${result.info.status} in ${result.runDir}\n${summary ? `test: ${summary}\n` : ''}`);
    if (result.info.status === 'interrupted') process.exitCode = 1;
  } finally {
    renderer.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

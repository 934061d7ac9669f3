import { TfpipeError, consoleLogger } from '@tfpipe/core';
import { startWorker } from '@tfpipe/distributed';
import { redisTimeoutOption, trialRunnerRef } from './sweep.js';

interface WorkerOpts {
  queue: string;
  concurrency: number;
  sweep?: string;
  scratch?: string;
  keepScratch?: boolean;
  redisTimeout?: string;
  exitWhenDone?: boolean;
}

export async function workerCommand(opts: WorkerOpts): Promise<void> {
  if (opts.exitWhenDone && !opts.sweep) throw new TfpipeError('E_USAGE', '--exit-when-done needs --sweep <id> (the sweep whose end ends this worker)');
  const redisTimeoutSeconds = redisTimeoutOption(opts.redisTimeout);
  const worker = await startWorker({
    connection: opts.queue,
    runner: trialRunnerRef(),
    concurrency: opts.concurrency,
    ...(opts.sweep ? { queue: opts.sweep } : {}),
    ...(opts.scratch ? { scratchDir: opts.scratch } : {}),
    ...(opts.keepScratch ? { keepScratch: true } : {}),
    ...(redisTimeoutSeconds ? { redisTimeoutSeconds } : {}),
    ...(opts.exitWhenDone ? { exitWhenDone: true } : {}),
    logger: consoleLogger,
  });
  process.stderr.write(`worker ${worker.name} waiting for trials on ${opts.queue}, running them in ${worker.scratchDir} (Ctrl-C to stop)\n`);
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write('worker: finishing running trials, then stopping\n');
      void worker.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // A worker that gave up on a lost Redis rejects here: the CLI prints the message and exits 1.
  await Promise.race([stopped, worker.closed]);
}

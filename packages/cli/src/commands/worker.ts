import { consoleLogger } from '@tfpipe/core';
import { startWorker } from '@tfpipe/distributed';
import { trialRunnerRef } from './sweep.js';

export async function workerCommand(opts: { queue: string; concurrency: number; sweep?: string }): Promise<void> {
  const worker = await startWorker({
    connection: opts.queue,
    runner: trialRunnerRef(),
    concurrency: opts.concurrency,
    ...(opts.sweep ? { queue: opts.sweep } : {}),
    logger: consoleLogger,
  });
  process.stderr.write(`worker ${worker.name} waiting for trials on ${opts.queue} (Ctrl-C to stop)\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write('worker: finishing running trials, then stopping\n');
      void worker.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

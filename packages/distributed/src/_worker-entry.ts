/**
 * The script child processes run. Three modes:
 *   trial     --runner <ref>                       one trial sent over IPC by runTrialInChild
 *   worker    --queue <redis url> --runner <ref>   a queue worker (startWorker) until SIGTERM/SIGINT
 *   run-trial --runner <ref> --trial <file.json> --sweep-dir <dir>   one trial from a file (Kubernetes)
 */
import { parseArgs } from 'node:util';
import type { ChildMessage } from './child.js';
import { executeTrial, loadRunner, runTrialFile } from './harness.js';
import { startWorker } from './queue-worker.js';

async function trialMode(runnerRef: string): Promise<void> {
  // The parent closed the channel (done with us, or gone): a trial nobody waits for is wasted work.
  process.on('disconnect', () => process.exit(0));
  // Listen before loading the runner, so that no message sent meanwhile is missed.
  const runner = loadRunner(runnerRef);
  runner.catch((e) => {
    console.error(e);
    process.exit(1);
  });
  let abort = new AbortController();
  process.on('message', (m: ChildMessage) => {
    if (m.type === 'abort') abort.abort(new Error('the sweep was cancelled'));
    if (m.type !== 'run') return;
    const controller = new AbortController();
    abort = controller;
    runner
      .then((r) => executeTrial(m.trial, { sweepDir: m.sweepDir, runner: r, worker: m.worker, attempt: m.attempt, signal: controller.signal }))
      .then(
      (result) => process.send?.({ type: 'result', result } satisfies ChildMessage),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
  // Stay alive for more trials until the parent disconnects.
  await new Promise<never>(() => {});
}

const stderrLogger = {
  info: (m: string) => process.stderr.write(`${m}\n`),
  warn: (m: string) => process.stderr.write(`warning: ${m}\n`),
};

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      runner: { type: 'string' },
      queue: { type: 'string' },
      sweep: { type: 'string' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
      name: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'poll-ms': { type: 'string' },
      scratch: { type: 'string' },
      'redis-timeout': { type: 'string' },
      'chunk-bytes': { type: 'string' },
      'keep-scratch': { type: 'boolean' },
      'exit-when-done': { type: 'boolean' },
      trial: { type: 'string' },
      'sweep-dir': { type: 'string' },
      summary: { type: 'string' },
    },
  });
  if (!values.runner) throw new Error('--runner <module#export> is required');
  if (mode === 'trial') return trialMode(values.runner);
  if (mode === 'run-trial') {
    if (!values.trial || !values['sweep-dir']) throw new Error('run-trial needs --trial <file> and --sweep-dir <dir>');
    const r = await runTrialFile({
      trialFile: values.trial,
      sweepDir: values['sweep-dir'],
      runner: values.runner,
      ...(values.summary ? { summaryFile: values.summary } : {}),
    });
    process.exitCode = r.status === 'completed' ? 0 : 1;
    return;
  }
  if (mode === 'worker') {
    if (!values.queue) throw new Error('worker needs --queue redis://host:port');
    const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
    const worker = await startWorker({
      connection: values.queue,
      runner: values.runner,
      ...(values.sweep ? { queue: values.sweep } : {}),
      ...(values.prefix ? { prefix: values.prefix } : {}),
      ...(values.name ? { name: values.name } : {}),
      concurrency: num(values.concurrency) ?? 1,
      ...(values['lock-duration'] ? { lockDuration: num(values['lock-duration'])! } : {}),
      ...(values['stalled-interval'] ? { stalledInterval: num(values['stalled-interval'])! } : {}),
      ...(values['poll-ms'] ? { pollMs: num(values['poll-ms'])! } : {}),
      ...(values.scratch ? { scratchDir: values.scratch } : {}),
      ...(values['redis-timeout'] ? { redisTimeoutSeconds: num(values['redis-timeout'])! } : {}),
      ...(values['chunk-bytes'] ? { chunkBytes: num(values['chunk-bytes'])! } : {}),
      ...(values['keep-scratch'] ? { keepScratch: true } : {}),
      ...(values['exit-when-done'] ? { exitWhenDone: true } : {}),
      logger: stderrLogger,
    });
    // Tests and supervisors wait for this line before they hand out work.
    console.log(`worker ${worker.name} ready`);
    const stopped = new Promise<void>((done) => {
      const stop = () => worker.close().then(done, done);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    try {
      await Promise.race([stopped, worker.closed]);
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    }
    return;
  }
  throw new Error(`unknown mode "${mode}"; expected trial, worker or run-trial`);
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});

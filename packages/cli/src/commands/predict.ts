import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { consoleLogger, useBackend } from '@tfpipe/core';
import { type EngineChoice, chooseWasmThreadsForRun, loadRun } from '@tfpipe/pipeline';
import { predictFile } from '@tfpipe/serve';

interface PredictOpts {
  input: string;
  output?: string;
  batchSize: number;
  engine?: EngineChoice;
}

/** `pipeline predict <run-dir> --input <file|folder> [--output preds.jsonl]`: one JSON line per row, progress on stderr. */
export async function predictCommand(runDir: string, opts: PredictOpts): Promise<void> {
  await chooseWasmThreadsForRun(runDir);
  await useBackend('auto', { log: (m) => consoleLogger.info(m) });
  const run = await loadRun(runDir, { engine: opts.engine ?? 'auto' });
  consoleLogger.info(`engine: ${run.engine.name} (${run.engine.reason})`);
  const out: NodeJS.WritableStream | WriteStream = opts.output ? createWriteStream(opts.output) : process.stdout;
  const tty = Boolean(process.stderr.isTTY);
  const started = performance.now();
  let lastPrint = 0;
  const progress = (done: number, total: number | undefined) => {
    const now = performance.now();
    if (now - lastPrint < 500 && done !== total) return;
    lastPrint = now;
    const rate = done / Math.max((now - started) / 1000, 1e-3);
    const line = `predicted ${done}${total !== undefined ? `/${total}` : ''} rows (${rate.toFixed(0)} rows/s)`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  };
  try {
    const { rows } = await predictFile(run, {
      input: opts.input,
      batchSize: opts.batchSize,
      async write(line) {
        // Respect backpressure: a slow disk or pipe slows reading down instead of filling memory.
        if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
      },
      onProgress: progress,
    });
    if (tty) process.stderr.write('\n');
    process.stderr.write(`done: ${rows} predictions${opts.output ? ` in ${opts.output}` : ''}\n`);
  } finally {
    if (out !== process.stdout) {
      (out as WriteStream).end();
      await once(out, 'finish');
    }
    await run.dispose();
  }
}

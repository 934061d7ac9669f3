import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { TfpipeError, consoleLogger, useBackend } from '@tfpipe/core';
import { type EngineChoice, chooseWasmThreadsForRun, loadRun } from '@tfpipe/pipeline';
import { checkPredictInput, predictFile } from '@tfpipe/serve';

interface PredictOpts {
  input: string;
  output?: string;
  batchSize: number;
  engine?: EngineChoice;
}

async function checkOutputFolder(output: string): Promise<void> {
  const folder = dirname(output);
  const isDir = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new TfpipeError('E_USAGE', `--output ${output}: the folder ${folder} does not exist`, {
      path: ['output'],
      issues: [{ path: ['output'], message: 'no such folder', received: output, expected: 'a file in an existing folder' }],
    });
  }
}

/**
 * `pipeline predict <run-dir> --input <file|folder> [--output preds.jsonl]`: one JSON line per row, progress
 * on stderr. The input is checked before the model loads; `--output` appears only once every row is written
 * (a temporary file in the same folder, renamed at the end, removed on failure).
 */
export async function predictCommand(runDir: string, opts: PredictOpts): Promise<void> {
  await checkPredictInput(opts);
  if (opts.output) await checkOutputFolder(opts.output);
  await chooseWasmThreadsForRun(runDir);
  await useBackend('auto', { log: (m) => consoleLogger.info(m) });
  const run = await loadRun(runDir, { engine: opts.engine ?? 'auto' });
  consoleLogger.info(`engine: ${run.engine.name} (${run.engine.reason})`);
  const tmp = opts.output ? join(dirname(opts.output), `.${basename(opts.output)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`) : undefined;
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
  let out: NodeJS.WritableStream | WriteStream = process.stdout;
  let ok = false;
  try {
    if (tmp) {
      out = createWriteStream(tmp, { flags: 'wx' });
      await once(out, 'open');
    }
    const { rows } = await predictFile(run, {
      input: opts.input,
      batchSize: opts.batchSize,
      async write(line) {
        // Respect backpressure: a slow disk or pipe slows reading down instead of filling memory.
        if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
      },
      onProgress: progress,
    });
    if (tmp) {
      const file = out as WriteStream;
      file.end();
      await once(file, 'finish');
      await rename(tmp, opts.output!);
    }
    ok = true;
    if (tty) process.stderr.write('\n');
    process.stderr.write(`done: ${rows} predictions${opts.output ? ` in ${opts.output}` : ''}\n`);
  } finally {
    if (tmp && !ok) {
      // Writes may still be queued: drop them (their errors too) and remove the partial file.
      const file = out as WriteStream;
      file.on('error', () => {});
      if (!file.closed) {
        const closed = new Promise<void>((done) => file.once('close', () => done()));
        file.destroy();
        await closed;
      }
      await rm(tmp, { force: true });
    }
    await run.dispose();
  }
}

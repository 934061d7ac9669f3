import { consoleLogger, TfpipeError, useBackend } from '@tfpipe/core';
import { chooseWasmThreadsForRun } from '@tfpipe/pipeline';
import { createServer, readProduction } from '@tfpipe/serve';

interface ServeOpts {
  port: number;
  host: string;
  admin?: boolean;
  maxBatch: number;
  batchWaitMs: number;
  bodyLimit: number;
  runsRoot?: string;
  production?: string;
  log?: string;
  logSample?: string;
  maxQueue?: string;
  timeoutMs?: string;
  engine?: 'auto' | 'onnxruntime' | 'tfjs';
  explainMaxSteps?: number;
  explainConcurrency?: number;
}

function usage(option: string, value: string, allowed: string): TfpipeError {
  return new TfpipeError('E_USAGE', `${option}: received ${JSON.stringify(value)}; expected ${allowed}`, {
    issues: [{ path: [option], message: 'invalid value', received: value, expected: allowed }],
    path: [option],
  });
}

/** A whole number >= 1 written as digits only (no `80x`, no `1.5`, no `1e3`). */
function positiveInt(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw usage(option, value, 'a whole number >= 1');
  return Number(value);
}

function rate(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) throw usage(option, value, 'a number with 0 < rate <= 1, e.g. 0.1');
  return n;
}

/**
 * `pipeline serve <run-dir>` or `pipeline serve --production <runs-dir>`: serves until SIGINT/SIGTERM;
 * SIGHUP reloads the run directory. With --production the server follows the runs folder's pointer.
 */
export async function serveCommand(runDir: string | undefined, opts: ServeOpts): Promise<void> {
  if (runDir !== undefined && opts.production !== undefined) {
    throw new TfpipeError('E_USAGE', 'give a run directory or --production <runs-dir>, not both', { path: ['--production'] });
  }
  if (runDir === undefined && opts.production === undefined) {
    throw new TfpipeError('E_USAGE', 'missing the run directory: pipeline serve <run-dir>, or pipeline serve --production <runs-dir>', { path: ['run-dir'] });
  }
  if (opts.logSample !== undefined && opts.log === undefined) throw usage('--log-sample', opts.logSample, 'to be given with --log <dir>');
  const sample = rate('--log-sample', opts.logSample);
  const maxQueueRows = positiveInt('--max-queue', opts.maxQueue);
  const timeoutMs = positiveInt('--timeout-ms', opts.timeoutMs);
  const first = runDir ?? (await readProduction(opts.production!)).runDir;
  await chooseWasmThreadsForRun(first);
  const backend = await useBackend('auto', { log: (m) => consoleLogger.info(m) });
  const adminToken = process.env.TFPIPE_ADMIN_TOKEN;
  const server = await createServer(
    runDir,
    {
      port: opts.port,
      host: opts.host,
      admin: opts.admin === true,
      maxBatch: opts.maxBatch,
      batchWaitMs: opts.batchWaitMs,
      bodyLimit: opts.bodyLimit,
      ...(opts.runsRoot !== undefined ? { runsRoot: opts.runsRoot } : {}),
      ...(adminToken ? { adminToken } : {}),
      ...(opts.production !== undefined ? { production: opts.production } : {}),
      ...(opts.log !== undefined ? { log: { dir: opts.log, ...(sample !== undefined ? { sample } : {}) } } : {}),
      ...(maxQueueRows !== undefined ? { maxQueueRows } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      engine: opts.engine ?? 'auto',
      ...(opts.explainMaxSteps !== undefined ? { explainMaxSteps: opts.explainMaxSteps } : {}),
      ...(opts.explainConcurrency !== undefined ? { explainConcurrency: opts.explainConcurrency } : {}),
    },
    { logger: consoleLogger },
  );
  const url = await server.listen();
  const m = server.run.metadata;
  const from = opts.production !== undefined ? `${opts.production}/production (now ${first})` : first;
  process.stderr.write(`serving ${m.name} (${m.task.kind}) from ${from} on ${url} [backend ${backend.name}, engine ${server.run.engine.name}: ${server.run.engine.reason}]\n`);
  process.stderr.write(
    `  POST ${url}/predict   GET ${url}/health /metadata /metrics /openapi.json${opts.admin ? `   POST ${url}/admin/reload` : ''}${opts.log ? `   POST ${url}/feedback (logging to ${opts.log})` : ''}\n`,
  );

  const onHup = () => {
    server.reload().then(
      (run) => process.stderr.write(`reloaded ${run.metadata.name} from ${run.dir}\n`),
      (e) => process.stderr.write(`reload failed, still serving the previous model: ${(e as Error).message}\n`),
    );
  };
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', onHup);
      process.stderr.write('stopping: finishing requests in flight\n');
      server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', onHup);
  });
}

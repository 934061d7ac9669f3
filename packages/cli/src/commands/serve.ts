import { consoleLogger, useBackend } from '@tfpipe/core';
import { type EngineChoice, chooseWasmThreadsForRun, loadRun } from '@tfpipe/pipeline';
import { createServer } from '@tfpipe/serve';

interface ServeOpts {
  port: number;
  host: string;
  admin?: boolean;
  maxBatch: number;
  batchWaitMs: number;
  bodyLimit: number;
  engine?: EngineChoice;
}

/** `pipeline serve <run-dir>`: serves until SIGINT/SIGTERM; SIGHUP reloads the run directory. */
export async function serveCommand(runDir: string, opts: ServeOpts): Promise<void> {
  await chooseWasmThreadsForRun(runDir);
  const backend = await useBackend('auto', { log: (m) => consoleLogger.info(m) });
  const run = await loadRun(runDir, { engine: opts.engine ?? 'auto' });
  consoleLogger.info(`engine: ${run.engine.name} (${run.engine.reason})`);
  const server = await createServer(run, {
    port: opts.port,
    host: opts.host,
    admin: opts.admin === true,
    maxBatch: opts.maxBatch,
    batchWaitMs: opts.batchWaitMs,
    bodyLimit: opts.bodyLimit,
  });
  const url = await server.listen();
  const m = server.run.metadata;
  process.stderr.write(`serving ${m.name} (${m.task.kind}) from ${runDir} on ${url} [backend ${backend.name}]\n`);
  process.stderr.write(`  POST ${url}/predict   GET ${url}/health /metadata /metrics /openapi.json${opts.admin ? `   POST ${url}/admin/reload` : ''}\n`);

  const onHup = () => {
    server.reload(runDir).then(
      (run) => process.stderr.write(`reloaded ${run.metadata.name} from ${runDir}\n`),
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

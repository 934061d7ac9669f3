import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { dirname, relative, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isTfpipeError, type Logger, parseSection, silentLogger, TfpipeError } from '@tfpipe/core';
import type { LoadedRun } from '@tfpipe/pipeline';
import type { Row } from '@tfpipe/data';
import { MicroBatcher, QueueFullError } from './batcher.js';
import { type HttpError, httpError, parseOrThrow, toHttpError } from './http-errors.js';
import { Limiter } from './limiter.js';
import { loadServedRun } from './load-run.js';
import { ServeMetrics } from './metrics.js';
import { reloadBodySchema } from './openapi.js';
import { predictRows, type ServedPrediction } from './predictions.js';
import { type ProductionPointer, readProduction } from './production.js';
import { PointerWatcher } from './production-watch.js';
import { badRequest, formToRecord, toRows } from './records.js';
import { ExplainSlots, explainQuery, explainServedRows } from './explain-route.js';
import { prepare, type RunExtra, warmUp } from './prepared-run.js';
import { RequestLog } from './request-log.js';
import type { RunSchemas } from './request-schema.js';
import { RunHolder, type RunSlot } from './run-holder.js';
import { resolveUnderRoot, runId } from './run-files.js';
import { isLoopbackHost, type ServeOptions, type ServeOptionsInput, serveOptionsSchema } from './server-options.js';

export { isLoopbackHost, serveOptionsSchema } from './server-options.js';
export type { ServeOptions, ServeOptionsInput } from './server-options.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Aborts a request's work: its time is up (a 503). */
class RequestTimeout extends TfpipeError {
  constructor(ms: number) {
    super('E_INTERNAL', `no answer within ${ms} ms`);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A running (or ready to run) prediction server. */
export interface PredictionServer {
  readonly app: FastifyInstance;
  readonly options: ServeOptions;
  /** The run served now. */
  readonly run: LoadedRun;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8080. */
  listen(): Promise<string>;
  /** Loads `runDir` (default: the current one again) and swaps it in; in-flight requests finish on the old model. */
  reload(runDir?: string): Promise<LoadedRun>;
  /** Writes the request log's buffered lines now (with `log`); resolves when they are on disk. */
  flushLog(): Promise<void>;
  /** Stops accepting requests, waits for those in flight, then disposes the model. */
  close(): Promise<void>;
}

function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.status).type('application/json').send(e.body);
}

/** What the embedding program gives the server beyond its options. */
export interface ServerHooks {
  /** Reload and swap news (production mode), warnings of the request log. */
  logger?: Logger;
}

/**
 * A fastify server for a run: POST /predict (raw records, the run's own preprocessing, micro-batched),
 * GET /health, /metadata, /metrics (Prometheus), /openapi.json, POST /admin/reload when `admin`, and
 * POST /feedback when `log` is set. With `production` (a runs folder), `runOrDir` may be omitted: the
 * server serves the run the folder's `production` pointer names and swaps when the pointer changes.
 */
export async function createServer(runOrDir: LoadedRun | string | undefined, input: ServeOptionsInput = {}, hooks: ServerHooks = {}): Promise<PredictionServer> {
  const options = parseSection(serveOptionsSchema, input, ['serve'], { code: 'E_USAGE' });
  const logger = hooks.logger ?? silentLogger;
  if (options.admin && !options.adminToken && !isLoopbackHost(options.host)) {
    throw new TfpipeError('E_CONFIG', `adminToken: required when admin is on and the server listens on ${options.host}, which is not a loopback address; expected a secret of at least 16 characters`, {
      issues: [{ path: ['adminToken'], message: 'required when admin is on beyond loopback', received: undefined, expected: 'a secret of at least 16 characters' }],
      path: ['adminToken'],
      hint: 'pipeline serve reads the token from the TFPIPE_ADMIN_TOKEN environment variable',
    });
  }
  let production: ProductionPointer | undefined;
  let source = runOrDir;
  if (options.production) {
    const p = await readProduction(options.production);
    production = p.pointer;
    source ??= p.runDir;
  }
  if (source === undefined) throw new TfpipeError('E_USAGE', 'createServer: give a run directory (or a LoadedRun), or `production` (a runs folder)');
  const first = typeof source === 'string' ? await loadServedRun(source, { engine: options.engine }) : source;
  let firstExtra: RunExtra;
  try {
    firstExtra = await prepare(first, options, production);
  } catch (e) {
    if (typeof source === 'string') await first.dispose();
    throw e;
  }
  const runsRoot = resolve(options.runsRoot ?? options.production ?? dirname(resolve(first.dir)));
  const requestLog = options.log ? await RequestLog.open(options.log, logger) : undefined;
  const holder = new RunHolder<RunExtra>(first, firstExtra);
  const metrics = new ServeMetrics();
  const batcher = new MicroBatcher<RunSlot<RunExtra>, Row, ServedPrediction>({
    maxBatch: options.maxBatch,
    waitMs: options.batchWaitMs,
    maxQueueRows: options.maxQueueRows,
    run: (slot, rows) => predictRows(slot.run, rows, options.maxBatch),
    onBatch: (n) => metrics.batch(n),
  });
  const decoder = new Limiter(options.decodeConcurrency);
  let active = 0;
  let maxActive = 0;
  let reloadFailures = 0;
  const startedAt = Date.now();
  /** A run directory as clients see it: relative to the runs root, never an absolute path. */
  const shownDir = (slot: RunSlot<RunExtra>) => {
    const rel = relative(runsRoot, slot.extra.realDir);
    return rel && !rel.startsWith('..') ? rel : slot.extra.id;
  };

  // The request's clock starts when it arrives (before its body is read); its work stops when time is up.
  const deadlines = new WeakMap<FastifyRequest, { signal: AbortSignal; timer: NodeJS.Timeout; badHeader?: string }>();

  const app = Fastify({
    bodyLimit: options.bodyLimit,
    requestTimeout: options.timeoutMs,
    logger: false,
    return503OnClosing: true,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  // Multipart bodies are read whole (within bodyLimit) and parsed with the web FormData parser.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((error, _request, reply) => sendError(reply, toHttpError(error, options)));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, httpError(404, 'E_NOT_FOUND', `no route ${request.method} ${request.url}; see GET /openapi.json`)),
  );
  app.addHook('onRequest', async (request) => {
    if (request.url !== '/predict' && !request.url.startsWith('/predict?')) return;
    const header = request.headers['x-timeout-ms'];
    let ms = options.timeoutMs;
    let badHeader: string | undefined;
    if (header !== undefined) {
      const n = Number(header);
      if (typeof header === 'string' && /^\d+$/.test(header) && n >= 1) ms = Math.min(n, options.timeoutMs);
      else badHeader = String(header);
    }
    const controller = new AbortController();
    // Each image waiting for a decode slot listens to it: up to maxInstances listeners is normal here.
    setMaxListeners(options.maxInstances + 16, controller.signal);
    const timer = setTimeout(() => controller.abort(new RequestTimeout(ms)), ms);
    timer.unref();
    deadlines.set(request, { signal: controller.signal, timer, ...(badHeader !== undefined ? { badHeader } : {}) });
  });
  app.addHook('onResponse', async (request, reply) => {
    const d = deadlines.get(request);
    if (d) clearTimeout(d.timer);
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  async function readRecords(request: FastifyRequest, schemas: RunSchemas): Promise<{ records: Record<string, unknown>[]; many: boolean }> {
    const known = [...schemas.columns.map((c) => c.name), ...schemas.labelColumns];
    if (String(request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      let form: FormData;
      try {
        form = await new Response(request.body as Buffer, { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
      } catch (e) {
        throw badRequest([{ path: [], message: `malformed multipart form: ${(e as Error).message}` }]);
      }
      const rec = await formToRecord(form, schemas.columns, schemas.labelColumns);
      // Validate everything but the file parts (already bytes) with the same schema as JSON.
      const check = Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, v instanceof Uint8Array ? 'file' : v]));
      parseOrThrow(schemas.record, check, [], known);
      return { records: [rec], many: false };
    }
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest([{ path: [], message: 'expected a JSON object: one record, or { "instances": [records] }', received: body }]);
    }
    if ('instances' in body && !known.includes('instances')) {
      const parsed = parseOrThrow(schemas.instances, body, [], known) as { instances: Record<string, unknown>[] };
      return { records: parsed.instances, many: true };
    }
    return { records: [parseOrThrow(schemas.record, body, [], known) as Record<string, unknown>], many: false };
  }

  function busy(reply: FastifyReply, e: QueueFullError): FastifyReply {
    reply.header('retry-after', String(e.retryAfterSeconds));
    return sendError(reply, httpError(503, 'E_BUSY', e.message));
  }

  /** Resolves with `work`, or rejects with the signal's reason as soon as it aborts. */
  function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((ok, fail) => {
      const onAbort = () => fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          ok(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          fail(e);
        },
      );
    });
  }

  app.post('/predict', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const deadline = deadlines.get(request)!;
    if (deadline.badHeader !== undefined) {
      return sendError(reply, toHttpError(badRequest([{ path: ['X-Timeout-Ms'], message: 'not a whole number of milliseconds >= 1', received: deadline.badHeader }]), options));
    }
    if (active >= options.maxConcurrent) {
      return busy(reply, new QueueFullError(batcher.full().retryAfterSeconds, `the server is busy: ${active} requests are being worked on (limit ${options.maxConcurrent})`));
    }
    active++;
    maxActive = Math.max(maxActive, active);
    const lease = holder.acquire();
    const { schemas, id: run } = lease.slot.extra;
    reply.header('x-tfpipe-run', run);
    const { signal } = deadline;
    const work = (async () => {
      const { records, many } = await readRecords(request, schemas);
      if (!batcher.accepts(records.length)) throw batcher.full(); // refuse before decoding anything
      const rows = await toRows(records, schemas.columns, { fit: options.imageFit, maxPixels: options.maxImagePixels, limiter: decoder, signal }, many ? ['instances'] : []);
      const preds = await batcher.submit(lease.slot, rows, { signal });
      return { records, many, preds };
    })();
    // The lease (and the count) end when the work does, even after a timeout answered the client: the
    // model stays alive until nothing computes with it.
    work
      .finally(() => {
        active--;
        lease.release();
      })
      .catch(() => undefined);
    try {
      const { records, many, preds } = await untilAborted(work, signal);
      if (requestLog?.sampled()) requestLog.logRequest(request.id, run, records, preds, schemas.columns.map((c) => c.name));
      return many ? { predictions: preds } : { prediction: preds[0] };
    } catch (e) {
      if (e instanceof RequestTimeout) return sendError(reply, httpError(503, 'E_TIMEOUT', e.message));
      if (e instanceof QueueFullError) return busy(reply, e);
      return sendError(reply, toHttpError(e, options));
    }
  });

  // POST /explain: the same records, validation and preprocessing as /predict; bounded cost (steps capped,
  // requests beyond explainConcurrency answered 503 at once).
  const explainSlots = new ExplainSlots(options.explainConcurrency);
  app.post('/explain', async (request, reply) => {
    if (!explainSlots.tryAcquire()) {
      const why = options.explainConcurrency === 0 ? '/explain is turned off (explainConcurrency: 0)' : `${options.explainConcurrency} explanation(s) already in flight`;
      return sendError(reply, httpError(503, 'E_BUSY', `${why}; retry later`));
    }
    const lease = holder.acquire();
    try {
      const query = explainQuery(request, options.explainMaxSteps);
      const { schemas } = lease.slot.extra;
      const { records, many } = await readRecords(request, schemas);
      const rows = await toRows(records, schemas.columns, options.imageFit, many ? ['instances'] : []);
      const explanations = await explainServedRows(lease.slot.run, rows, query);
      const meta = { steps: query.steps, ...(query.capped ? { capped: true } : {}) };
      return many ? { explanations, ...meta } : { explanation: explanations[0], ...meta };
    } catch (e) {
      return sendError(reply, toHttpError(e, options));
    } finally {
      lease.release();
      explainSlots.release();
    }
  });

  app.get('/health', async () => ({
    status: 'ok',
    model: holder.current.run.metadata.name,
    run: holder.current.extra.id,
    runDir: shownDir(holder.current),
    loadedAt: holder.current.loadedAt.toISOString(),
    uptimeSeconds: (Date.now() - startedAt) / 1000,
  }));

  app.get('/metadata', async () => {
    const slot = holder.current;
    const { run, extra, loadedAt } = slot;
    const m = run.metadata;
    return {
      name: m.name,
      run: extra.id,
      runDir: shownDir(slot),
      loadedAt: loadedAt.toISOString(),
      production: extra.production ?? null,
      task: m.task,
      inputs: m.inputs,
      rawColumns: m.rawColumns,
      labels: m.labels ?? null,
      metrics: m.metrics ?? null,
      trainedAt: m.trainedAt,
      backend: m.backend ?? null,
      engine: run.engine,
      tfpipeVersion: m.tfpipeVersion,
      request: { columns: extra.schemas.columns, labelColumns: extra.schemas.labelColumns, maxInstances: options.maxInstances },
    };
  });

  app.get('/metrics', async (_request, reply) => {
    const m = holder.current.run.metadata;
    const logStats = requestLog?.stats();
    const text = metrics.render(
      { model: m.name, run_dir: shownDir(holder.current) },
      {
        tfpipe_serve_queue_rows: { help: 'Rows waiting for a batch.', value: batcher.pending },
        tfpipe_serve_queue_rows_max: { help: 'The most rows ever waiting at once.', value: batcher.maxPending },
        tfpipe_serve_queue_rows_limit: { help: 'maxQueueRows: more are refused with a 503.', value: options.maxQueueRows },
        tfpipe_serve_inflight_requests: { help: 'POST /predict requests being worked on.', value: active },
        tfpipe_serve_inflight_requests_max: { help: 'The most POST /predict requests ever worked on at once.', value: maxActive },
        tfpipe_serve_decoding_images_max: { help: 'The most images ever decoding at once.', value: decoder.maxRunning },
        tfpipe_serve_reload_failures_total: { help: 'Reloads that failed (the previous run kept serving).', value: reloadFailures },
        ...(logStats
          ? {
              tfpipe_serve_log_dropped_rows_total: { help: 'Log lines dropped because the write buffer was full.', value: logStats.rowsDropped },
              tfpipe_serve_log_write_failures_total: { help: 'Log flushes that failed (their lines are written again at the next flush).', value: logStats.writeFailures },
            }
          : {}),
      },
    );
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  app.get('/openapi.json', async () => holder.current.extra.openapi);

  let reloading: Promise<unknown> = Promise.resolve();
  /** Loads (validated), prepares and warms a run, then swaps it in; on any failure it disposes what it loaded. */
  function swapTo(runDir: string, pointer?: ProductionPointer): Promise<LoadedRun> {
    const next = reloading.then(async () => {
      const run = await loadServedRun(runDir, { engine: options.engine });
      let extra: RunExtra;
      try {
        extra = await prepare(run, options, pointer);
        warmUp(run.model);
      } catch (e) {
        await run.dispose();
        throw e;
      }
      holder.swap(run, extra);
      metrics.reloaded();
      return run;
    });
    reloading = next.catch(() => {
      reloadFailures++;
    });
    return next;
  }
  // Reloading the current run keeps its promotion record; another run loaded by hand has none.
  const reload = (runDir?: string) => swapTo(runDir ?? holder.current.run.dir, runDir === undefined ? holder.current.extra.production : undefined);

  if (options.admin) {
    const token = options.adminToken ? digest(options.adminToken) : undefined;
    app.post('/admin/reload', async (request, reply) => {
      if (token) {
        const auth = String(request.headers.authorization ?? '');
        const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        if (!timingSafeEqual(digest(given), token)) {
          reply.header('www-authenticate', 'Bearer');
          return sendError(reply, httpError(401, 'E_UNAUTHORIZED', 'POST /admin/reload needs the admin token: Authorization: Bearer <token>'));
        }
      }
      try {
        const body = parseOrThrow(reloadBodySchema, request.body ?? {}, [], ['runDir']);
        const dir = body.runDir === undefined ? holder.current.run.dir : await resolveUnderRoot(runsRoot, body.runDir);
        const run = await reload(dir);
        return { reloaded: true, model: run.metadata.name, runDir: body.runDir ?? shownDir(holder.current) };
      } catch (e) {
        // A run that cannot be loaded is the client's choice of run: a 400 naming the file (relative to the run).
        if (isTfpipeError(e, 'E_MODEL')) return sendError(reply, httpError(400, 'E_MODEL', e.message, e.issues));
        return sendError(reply, toHttpError(e, options));
      }
    });
  }

  if (requestLog) {
    app.post('/feedback', async (request, reply) => {
      try {
        const body = parseOrThrow(holder.current.extra.feedback, request.body, [], ['id', 'label']);
        if (!requestLog.knows(body.id)) {
          return sendError(reply, httpError(404, 'E_NOT_FOUND', `id: no logged request row has the id ${JSON.stringify(body.id)}`, [{ path: ['id'], message: 'no logged request row has this id', received: body.id }]));
        }
        if (!requestLog.feedback(body.id, body.label)) {
          return busy(reply, new QueueFullError(1, `the request log is busy: ${requestLog.stats().buffered} lines wait to be written (limit ${requestLog.options.maxBufferedRows})`));
        }
        return { recorded: true, id: body.id };
      } catch (e) {
        return sendError(reply, toHttpError(e, options));
      }
    });
  }

  let watcher: PointerWatcher | undefined;
  if (options.production) {
    const runsDir = options.production;
    let failedPointer = '';
    watcher = new PointerWatcher(runsDir, options.productionPollMs, async () => {
      let p: Awaited<ReturnType<typeof readProduction>>;
      try {
        p = await readProduction(runsDir);
      } catch (e) {
        const text = (e as Error).message;
        if (text !== failedPointer) logger.warn(`production pointer unreadable, still serving ${holder.current.extra.id}: ${text}`);
        failedPointer = text;
        return;
      }
      if (p.runDir === holder.current.extra.realDir) return;
      const key = JSON.stringify(p.pointer);
      if (key === failedPointer) return; // the same broken promotion: wait for the pointer to change
      try {
        const run = await swapTo(p.runDir, p.pointer);
        failedPointer = '';
        logger.info(`production: now serving ${runId(run.dir)} (promoted ${p.pointer.promotedAt}${p.pointer.reason ? `: ${p.pointer.reason}` : ''})`);
      } catch (e) {
        failedPointer = key;
        logger.warn(`production: cannot load ${p.pointer.run}, still serving ${holder.current.extra.id}: ${(e as Error).message}`);
      }
    });
  }

  let closed = false;
  return {
    app,
    options,
    get run() {
      return holder.current.run;
    },
    async listen() {
      const url = await app.listen({ port: options.port, host: options.host });
      watcher?.start();
      return url;
    },
    reload,
    async flushLog() {
      await requestLog?.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      await watcher?.stop();
      await app.close();
      await batcher.drained();
      await reloading;
      await requestLog?.close();
      holder.close();
    },
  };
}

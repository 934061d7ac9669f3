import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TfpipeError } from '@tfpipe/core';
import { type LoadedRun, loadRun } from '@tfpipe/pipeline';
import { MicroBatcher } from './batcher.js';
import { type HttpError, httpError, parseOrThrow, toHttpError } from './http-errors.js';
import { ServeMetrics } from './metrics.js';
import { buildOpenApi, reloadBodySchema } from './openapi.js';
import { predictRows, type ServedPrediction } from './predictions.js';
import { badRequest, formToRecord, toRows } from './records.js';
import { ExplainSlots, explainQuery, explainServedRows } from './explain-route.js';
import { buildRunSchemas, labelNames, type RunSchemas } from './request-schema.js';
import { RunHolder, type RunSlot } from './run-holder.js';
import type { Row } from '@tfpipe/data';

/** Options of `createServer` and `pipeline serve`. */
export const serveOptionsSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port (0: any free port)'),
    host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on; 0.0.0.0 exposes the server to the network'),
    admin: z.boolean().default(false).describe('Enable POST /admin/reload (hot reload of a run directory)'),
    maxBatch: z.number().int().positive().default(32).describe('Micro-batching: rows per model call at most'),
    batchWaitMs: z.number().min(0).default(2).describe('Micro-batching: how long a request waits for others to join its batch (ms)'),
    bodyLimit: z.number().int().positive().default(10 * 1024 * 1024).describe('Largest request body in bytes (413 above it)'),
    timeoutMs: z.number().int().positive().default(30_000).describe('A request not answered within this many ms gets a 503'),
    maxInstances: z.number().int().positive().default(1024).describe('Most records in one request'),
    explainMaxSteps: z.number().int().min(1).default(64).describe('POST /explain: integrated-gradients steps at most (more are capped)'),
    explainConcurrency: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe('POST /explain: requests computed at once; more are answered 503 (0 turns /explain off)'),
    imageFit: z.enum(['fill', 'cover', 'contain']).default('fill').describe('How posted images are resized to the input shape; use the training data\'s `fit`'),
  })
  .strict();

export type ServeOptions = z.output<typeof serveOptionsSchema>;
export type ServeOptionsInput = z.input<typeof serveOptionsSchema>;

interface RunExtra {
  schemas: RunSchemas;
  openapi: Record<string, unknown>;
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
  /** Stops accepting requests, waits for those in flight, then disposes the model. */
  close(): Promise<void>;
}

function prepare(run: LoadedRun, options: ServeOptions): RunExtra {
  const schemas = buildRunSchemas(run.metadata, labelNames(run.tensorizer.spec.label), { maxInstances: options.maxInstances });
  return { schemas, openapi: buildOpenApi(run.metadata, schemas, { admin: options.admin }) };
}

function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.status).type('application/json').send(e.body);
}

/**
 * A fastify server for a run: POST /predict (raw records, the run's own preprocessing, micro-batched),
 * GET /health, /metadata, /metrics (Prometheus), /openapi.json, and POST /admin/reload when `admin`.
 */
export async function createServer(runOrDir: LoadedRun | string, input: ServeOptionsInput = {}): Promise<PredictionServer> {
  const options = serveOptionsSchema.parse(input);
  const first = typeof runOrDir === 'string' ? await loadRun(runOrDir) : runOrDir;
  const holder = new RunHolder<RunExtra>(first, prepare(first, options));
  const metrics = new ServeMetrics();
  const batcher = new MicroBatcher<RunSlot<RunExtra>, Row, ServedPrediction>({
    maxBatch: options.maxBatch,
    waitMs: options.batchWaitMs,
    run: (slot, rows) => predictRows(slot.run, rows, options.maxBatch),
    onBatch: (n) => metrics.batch(n),
  });
  const startedAt = Date.now();

  const app = Fastify({ bodyLimit: options.bodyLimit, requestTimeout: options.timeoutMs, logger: false, return503OnClosing: true });
  // Multipart bodies are read whole (within bodyLimit) and parsed with the web FormData parser.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((error, _request, reply) => sendError(reply, toHttpError(error, options)));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, httpError(404, 'E_NOT_FOUND', `no route ${request.method} ${request.url}; see GET /openapi.json`)),
  );
  app.addHook('onResponse', async (request, reply) => {
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

  app.post('/predict', async (request, reply) => {
    const lease = holder.acquire();
    let timer: NodeJS.Timeout | undefined;
    try {
      const { schemas } = lease.slot.extra;
      const { records, many } = await readRecords(request, schemas);
      const rows = await toRows(records, schemas.columns, options.imageFit, many ? ['instances'] : []);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TfpipeError('E_INTERNAL', `no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      });
      let preds: ServedPrediction[];
      try {
        preds = await Promise.race([batcher.submit(lease.slot, rows), timeout]);
      } catch (e) {
        if (e instanceof TfpipeError && e.code === 'E_INTERNAL' && e.message.startsWith('no answer within')) {
          return sendError(reply, httpError(503, 'E_TIMEOUT', e.message));
        }
        throw e;
      }
      return many ? { predictions: preds } : { prediction: preds[0] };
    } catch (e) {
      return sendError(reply, toHttpError(e, options));
    } finally {
      if (timer) clearTimeout(timer);
      lease.release();
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
    runDir: holder.current.run.dir,
    loadedAt: holder.current.loadedAt.toISOString(),
    uptimeSeconds: (Date.now() - startedAt) / 1000,
  }));

  app.get('/metadata', async () => {
    const { run, extra, loadedAt } = holder.current;
    const m = run.metadata;
    return {
      name: m.name,
      runDir: run.dir,
      loadedAt: loadedAt.toISOString(),
      task: m.task,
      inputs: m.inputs,
      rawColumns: m.rawColumns,
      labels: m.labels ?? null,
      metrics: m.metrics ?? null,
      trainedAt: m.trainedAt,
      backend: m.backend ?? null,
      tfpipeVersion: m.tfpipeVersion,
      request: { columns: extra.schemas.columns, labelColumns: extra.schemas.labelColumns, maxInstances: options.maxInstances },
    };
  });

  app.get('/metrics', async (_request, reply) => {
    const m = holder.current.run.metadata;
    const text = metrics.render(
      { model: m.name, run_dir: holder.current.run.dir },
      { tfpipe_serve_queue_rows: { help: 'Rows waiting for a batch.', value: batcher.pending } },
    );
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  app.get('/openapi.json', async () => holder.current.extra.openapi);

  let reloading: Promise<unknown> = Promise.resolve();
  async function reload(runDir?: string): Promise<LoadedRun> {
    const next = reloading.then(async () => {
      const run = await loadRun(runDir ?? holder.current.run.dir);
      let extra: RunExtra;
      try {
        extra = prepare(run, options);
      } catch (e) {
        run.model.dispose();
        throw e;
      }
      holder.swap(run, extra);
      metrics.reloaded();
      return run;
    });
    reloading = next.catch(() => undefined);
    return next;
  }

  if (options.admin) {
    app.post('/admin/reload', async (request, reply) => {
      try {
        const body = parseOrThrow(reloadBodySchema, request.body ?? {}, [], ['runDir']);
        const run = await reload(body.runDir);
        return { reloaded: true, model: run.metadata.name, runDir: run.dir };
      } catch (e) {
        return sendError(reply, toHttpError(e, options));
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
      return app.listen({ port: options.port, host: options.host });
    },
    reload,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await batcher.drained();
      await reloading;
      holder.close();
    },
  };
}

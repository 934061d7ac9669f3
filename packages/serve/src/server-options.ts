import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { requestLogOptionsSchema } from './request-log.js';

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
    maxQueueRows: z.number().int().positive().default(1024).describe('Most rows waiting for the model; a request that would go past it gets a 503 with Retry-After'),
    maxConcurrent: z.number().int().positive().default(256).describe('Most /predict requests being worked on at once (parsing, decoding, queued); more get a 503 with Retry-After'),
    decodeConcurrency: z.number().int().positive().default(Math.max(availableParallelism(), 1)).describe('Most images decoding at once, across requests'),
    maxImagePixels: z.number().int().positive().optional().describe('Most pixels of one posted image (default: from the model\'s input shape, see imagePixelLimit)'),
    runsRoot: z.string().min(1).optional().describe('POST /admin/reload loads only run directories inside this folder (default: the folder holding the served run)'),
    adminToken: z.string().min(16).optional().describe('Bearer token POST /admin/reload requires; mandatory when admin is on and host is not a loopback address'),
    log: requestLogOptionsSchema.optional().describe('Log a sample of requests (and POST /feedback) to JSONL segments in this folder'),
    production: z.string().min(1).optional().describe('A runs folder: serve the run its `production` pointer names, and swap when the pointer changes'),
    productionPollMs: z.number().int().positive().default(1000).describe('How often the production pointer is re-read (besides file-system events)'),
    engine: z.enum(['auto', 'onnxruntime', 'tfjs']).default('tfjs').describe('What computes predictions: tfjs, or onnxruntime-node over the exported model (auto: onnxruntime when installed and the model exports)'),
  })
  .strict();

export type ServeOptions = z.output<typeof serveOptionsSchema>;
export type ServeOptionsInput = z.input<typeof serveOptionsSchema>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

/** Whether a listen address is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

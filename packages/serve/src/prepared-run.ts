import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { LoadedRun } from '@tfpipe/pipeline';
import { buildOpenApi } from './openapi.js';
import type { ProductionPointer } from './production.js';
import { buildRunSchemas, columnValueSchema, labelNames, type RunSchemas } from './request-schema.js';
import { runId } from './run-files.js';
import type { ServeOptions } from './server-options.js';

/** What the server derives from a loaded run once, at load: request schemas, OpenAPI, its id. */
export interface RunExtra {
  schemas: RunSchemas;
  openapi: Record<string, unknown>;
  /** Validates POST /feedback bodies (the label typed like the run's label column). */
  feedback: z.ZodType<{ id: string; label: unknown }>;
  /** The run's id (its folder name) and its real path, to tell whether a pointer names it. */
  id: string;
  realDir: string;
  /** The pointer this run was promoted with, in production mode. */
  production: ProductionPointer | undefined;
}

/** Runs the model once on zeros, so a swapped-in run has done its first (slow) call before it serves. */
export function warmUp(model: LoadedRun['model']): void {
  tf.tidy(() => {
    const xs = model.inputs.map((i) => tf.zeros([1, ...i.shape.slice(1).map((d) => d ?? 1)], i.dtype === 'int32' ? 'int32' : 'float32'));
    model.predict(xs.length === 1 ? xs[0]! : xs);
  });
}

function feedbackSchema(run: LoadedRun, schemas: RunSchemas): z.ZodType<{ id: string; label: unknown }> {
  const cols = run.metadata.rawColumns.filter((c) => schemas.labelColumns.includes(c.name));
  const label = cols.length === 1 ? columnValueSchema(cols[0]!).refine((v) => v !== null, 'a label is required') : z.unknown().refine((v) => v !== undefined, 'a label is required');
  return z
    .object({
      id: z.string().min(1).max(300).describe('A logged row: the X-Request-Id answer header, "#", the row index (0 for a single record)'),
      label: label.describe(cols.length === 1 ? `The true value of "${cols[0]!.name}"` : 'The true label'),
    })
    .strict() as z.ZodType<{ id: string; label: unknown }>;
}

/** Builds a run's RunExtra; throws (and the caller disposes the run) when its metadata cannot serve. */
export async function prepare(run: LoadedRun, options: ServeOptions, production?: ProductionPointer): Promise<RunExtra> {
  const schemas = buildRunSchemas(run.metadata, labelNames(run.tensorizer.spec.label), { maxInstances: options.maxInstances });
  const feedback = feedbackSchema(run, schemas);
  return {
    schemas,
    feedback,
    openapi: buildOpenApi(run.metadata, schemas, { admin: options.admin, feedback: options.log ? feedback : undefined }),
    id: runId(run.dir),
    realDir: await realpath(run.dir).catch(() => resolve(run.dir)),
    production,
  };
}

import { z } from 'zod';
import type { ModelMetadata } from '@tfpipe/pipeline';
import type { RunSchemas } from './request-schema.js';

/** The error body every 4xx/5xx answer has. */
export const errorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().describe('E_DATA (bad input), E_TOO_LARGE, E_TIMEOUT, E_NOT_FOUND, E_INTERNAL, ...'),
        message: z.string().describe('What is wrong, naming the field'),
        issues: z
          .array(
            z
              .object({
                path: z.string().describe('The field, e.g. instances[2].petal_length'),
                message: z.string(),
                received: z.unknown().optional(),
                expected: z.string().optional(),
              })
              .strict(),
          )
          .describe('One entry per bad field'),
      })
      .strict(),
  })
  .strict();

export const reloadBodySchema = z
  .object({ runDir: z.string().min(1).optional().describe('The run directory to load (default: reload the current one)') })
  .strict();

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const errors = {
  '400': { description: 'Bad input (the message names the field)', content: json('Error') },
  '413': { description: 'Body larger than the limit', content: json('Error') },
  '503': { description: 'Timed out, or the server is busy (with Retry-After)', content: json('Error') },
};

function component(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** OpenAPI 3.0 document, from the same zod schemas that validate requests. */
export function buildOpenApi(metadata: ModelMetadata, schemas: RunSchemas, options: { admin: boolean; feedback?: z.ZodType | undefined }): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/predict': {
      post: {
        summary: `Predict with ${metadata.name}`,
        description: 'Raw records as in the training data; the run\'s fitted preprocessing is applied on the server. Images: base64 in JSON, or a file part in multipart/form-data (one record, one field per column).',
        requestBody: {
          required: true,
          content: {
            ...json('PredictRequest'),
            'multipart/form-data': { schema: { $ref: '#/components/schemas/Record' } },
          },
        },
        responses: { '200': { description: 'Predictions', content: json('PredictResponse') }, ...errors },
      },
    },
    '/explain': {
      post: {
        summary: `Attributions of ${metadata.name} for records`,
        description:
          'The same records, validation and preprocessing as /predict. Query: methods=integrated-gradients,grad-cam (default integrated-gradients), steps=N (capped at the server\'s explainMaxSteps). Per column, per token or per pixel; 503 when explainConcurrency requests are in flight.',
        parameters: [
          { name: 'methods', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'steps', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
        ],
        requestBody: { required: true, content: json('PredictRequest') },
        responses: { '200': { description: '{ explanation } or { explanations }, with the steps used' }, ...errors },
      },
    },
    '/health': { get: { summary: 'Liveness', responses: { '200': { description: 'ok' } } } },
    '/metadata': { get: { summary: 'Model, inputs, labels, metrics at training', responses: { '200': { description: 'The run metadata' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.0' } } } },
  };
  if (options.admin) {
    paths['/admin/reload'] = {
      post: {
        summary: 'Hot reload a run directory (requests in flight finish on the old model)',
        requestBody: { required: false, content: json('ReloadRequest') },
        responses: { '200': { description: 'Reloaded' }, ...errors },
      },
    };
  }
  if (options.feedback) {
    paths['/feedback'] = {
      post: {
        summary: 'Ground truth for a logged request row (its id: the X-Request-Id answer header, `#`, the row index)',
        requestBody: { required: true, content: json('FeedbackRequest') },
        responses: { '200': { description: 'Recorded' }, '404': { description: 'No logged row has this id', content: json('Error') }, ...errors },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: `tfpipe serve: ${metadata.name}`, version: metadata.tfpipeVersion, description: `Task: ${metadata.task.kind}. Trained ${metadata.trainedAt}.` },
    paths,
    components: {
      schemas: {
        Record: component(schemas.record),
        PredictRequest: component(schemas.request),
        Prediction: component(schemas.prediction),
        PredictResponse: component(schemas.response),
        Error: component(errorBodySchema),
        ReloadRequest: component(reloadBodySchema),
        ...(options.feedback ? { FeedbackRequest: component(options.feedback) } : {}),
      },
    },
  };
}

import type { z } from 'zod';
import { type Issue, isTfpipeError, zodIssues } from '@tfpipe/core';
import { badRequest, formatFieldPath } from './records.js';

/** The JSON body of an error answer. */
export interface ErrorBody {
  error: { code: string; message: string; issues: { path: string; message: string; received?: unknown; expected?: string }[] };
}

/** An error the server answers with a status (the server itself stays up). */
export interface HttpError {
  status: number;
  body: ErrorBody;
}

function body(code: string, message: string, issues: Issue[] = []): ErrorBody {
  return {
    error: {
      code,
      message,
      issues: issues.map((i) => ({
        path: formatFieldPath(i.path),
        message: i.message + (i.suggestion ? ` (did you mean "${i.suggestion}"?)` : ''),
        ...(i.received !== undefined ? { received: previewValue(i.received) } : {}),
        ...(i.expected ? { expected: i.expected } : {}),
      })),
    },
  };
}

/** Keeps error bodies small: long strings and arrays are summarised. */
function previewValue(v: unknown): unknown {
  if (typeof v === 'string' && v.length > 60) return `${v.slice(0, 57)}...`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v && typeof v === 'object') return `an object with keys ${Object.keys(v).slice(0, 6).join(', ')}`;
  return v;
}

/** zod issues → tfpipe issues, worded as everywhere else (core's `zodIssues`): the field path, "required", unknown keys with did-you-mean. */
export function zodToIssues(error: z.ZodError, base: (string | number)[], knownKeys: readonly string[], schema?: z.ZodType, value?: unknown): Issue[] {
  return zodIssues(error, schema, base, value, { knownKeys });
}

/** Validates with zod; throws a 400 naming each bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, base: (string | number)[], knownKeys: readonly string[]): T {
  const r = schema.safeParse(value, { reportInput: true });
  if (!r.success) throw badRequest(zodToIssues(r.error, base, knownKeys, schema, value));
  return r.data;
}

const CLIENT_CODES = new Set(['E_DATA', 'E_CONFIG', 'E_USAGE', 'E_UNKNOWN_TYPE', 'E_IO']);

/** Any thrown thing → a status and a body. Never rethrows: the server answers and stays up. */
export function toHttpError(e: unknown, options: { bodyLimit: number }): HttpError {
  if (isTfpipeError(e)) {
    if (CLIENT_CODES.has(e.code)) return { status: 400, body: body(e.code, e.message, e.issues) };
    return { status: 500, body: body(e.code, e.message, e.issues) };
  }
  const err = e as { code?: string; statusCode?: number; message?: string; name?: string };
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: body('E_TOO_LARGE', `body: larger than the limit of ${options.bodyLimit} bytes`, [{ path: [], message: 'body too large', expected: `at most ${options.bodyLimit} bytes` }]) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('E_DATA', 'body: empty; expected a JSON record or { "instances": [...] }', [{ path: [], message: 'empty body' }]) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: body('E_MEDIA_TYPE', `body: unsupported content type; expected application/json or multipart/form-data`, [{ path: [], message: 'unsupported content type' }]) };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: body('E_DATA', 'body: its length does not match Content-Length', [{ path: [], message: 'bad Content-Length' }]) };
    default:
      break;
  }
  if (err?.name === 'SyntaxError' || err?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, body: body('E_DATA', `body: malformed JSON: ${err.message}`, [{ path: [], message: `malformed JSON: ${err.message}` }]) };
  }
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: body(err.code ?? 'E_REQUEST', err.message ?? 'bad request') };
  }
  return { status: 500, body: body('E_INTERNAL', `internal error: ${err?.message ?? String(e)}`) };
}

export function httpError(status: number, code: string, message: string, issues: Issue[] = []): HttpError {
  return { status, body: body(code, message, issues) };
}

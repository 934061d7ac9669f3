/**
 * Reads the server's request log (`pipeline serve --log <dir>`): `requests-<seq>.jsonl` segments, one
 * `{ id, time, run, inputs, prediction }` per line, and `feedback-<seq>.jsonl` lines `{ id, label, time }`.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError, readJsonLines } from '@tfpipe/core';
import type { Row } from '@tfpipe/data';

export interface LoggedRequest {
  id: string;
  time: string;
  run?: string;
  inputs: Row;
  prediction?: unknown;
}

export interface RequestLog {
  dir: string;
  requests: LoggedRequest[];
  /** Ground truth posted to /feedback, by request id (the last one wins). */
  feedback: Map<string, unknown>;
  segments: string[];
}

const SEGMENT = /^(requests|feedback)-(\d+)\.jsonl$/;

/** Lists a folder's request-log segments in sequence order; empty when there are none. */
export async function logSegments(dir: string): Promise<{ requests: string[]; feedback: string[] }> {
  const names = await readdir(dir);
  const pick = (kind: string) =>
    names
      .map((n) => SEGMENT.exec(n))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === kind)
      .sort((a, b) => Number(a[2]) - Number(b[2]))
      .map((m) => m[0]);
  return { requests: pick('requests'), feedback: pick('feedback') };
}

/**
 * Reads every segment (a torn last line, from a writer that died mid-line, is skipped). `lastRows` keeps
 * only the most recent requests: a window.
 */
export async function readRequestLog(dir: string, options: { lastRows?: number } = {}): Promise<RequestLog> {
  const seg = await logSegments(dir);
  if (seg.requests.length === 0) {
    throw new TfpipeError('E_DATA', `${dir}: no request log segments (requests-<seq>.jsonl)`, { hint: 'Start the server with `pipeline serve <run> --log <dir>`.' });
  }
  let requests: LoggedRequest[] = [];
  for (const name of seg.requests) {
    const lines = await readJsonLines<LoggedRequest>(join(dir, name));
    for (const [i, r] of lines.entries()) {
      if (!r || typeof r !== 'object' || typeof r.inputs !== 'object' || r.inputs === null) {
        throw new TfpipeError('E_DATA', `${join(dir, name)}: line ${i + 1} has no "inputs" object`, { path: [name, i + 1] });
      }
      requests.push(r);
    }
  }
  if (options.lastRows !== undefined && requests.length > options.lastRows) requests = requests.slice(requests.length - options.lastRows);
  const feedback = new Map<string, unknown>();
  for (const name of seg.feedback) {
    for (const f of await readJsonLines<{ id: string; label: unknown }>(join(dir, name))) if (f && typeof f.id === 'string') feedback.set(f.id, f.label);
  }
  return { dir, requests, feedback, segments: [...seg.requests, ...seg.feedback] };
}

export interface FeedbackAccuracy {
  /** Logged requests in the window with a label posted to /feedback and a predicted label. */
  labelled: number;
  correct: number;
  accuracy: number;
}

/** Accuracy of the logged predictions against the feedback labels (classification: `prediction.label`). */
export function feedbackAccuracy(requests: readonly LoggedRequest[], feedback: ReadonlyMap<string, unknown>): FeedbackAccuracy | undefined {
  let labelled = 0;
  let correct = 0;
  for (const r of requests) {
    if (!feedback.has(r.id)) continue;
    const predicted = (r.prediction as { label?: unknown } | undefined)?.label;
    if (predicted === undefined) continue;
    labelled++;
    if (String(predicted) === String(feedback.get(r.id))) correct++;
  }
  return labelled ? { labelled, correct, accuracy: correct / labelled } : undefined;
}

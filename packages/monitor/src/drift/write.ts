import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import type { DriftReport } from './detect.js';
import { driftHtml } from './html.js';

export const DRIFT_FILES = { json: 'drift.json', html: 'drift.html' } as const;

/** Writes `drift.json` and `drift.html` into `dir` (atomically); returns their paths. */
export async function writeDriftReport(dir: string, report: DriftReport, options: { title?: string } = {}): Promise<{ json: string; html: string }> {
  const json = join(dir, DRIFT_FILES.json);
  const html = join(dir, DRIFT_FILES.html);
  await writeJsonAtomic(json, report);
  await writeFileAtomic(html, await driftHtml(report, options));
  return { json, html };
}

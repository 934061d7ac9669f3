import { join } from 'node:path';
import { readJsonLines, writeFileAtomic } from '@tfpipe/core';
import type { EpochLog } from './types.js';

export const METRICS_JSONL = 'metrics.jsonl';

/**
 * Keeps the metrics.jsonl lines of epochs up to `epoch` (the checkpoint a run resumes from) and drops
 * later ones (and a torn last line), rewriting the file atomically: what was written stays whole.
 */
export async function truncateMetrics(runDir: string, epoch: number): Promise<EpochLog[]> {
  const path = join(runDir, METRICS_JSONL);
  const lines = await readJsonLines<EpochLog>(path);
  const keep = lines.filter((l) => l.epoch <= epoch);
  await writeFileAtomic(path, keep.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return keep;
}

import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
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

/** The temporary name `writeFileAtomic` gives a file before renaming it: `.<name>.<pid>.<hex>.tmp`. */
const ATOMIC_TEMP = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Removes what a killed process may have left in a run directory, recursively: `writeFileAtomic`'s temporary
 * files (the target file is still the previous whole one). Run it before a resumed run writes anything;
 * checkpoint folders are tidied by `findCheckpoint`.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) removed.push(...(await removeStaleTemps(p)));
    else if (ATOMIC_TEMP.test(e.name)) {
      await rm(p, { force: true });
      removed.push(p);
    }
  }
  return removed;
}

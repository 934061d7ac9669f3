import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TfpipeError, writeJsonAtomic } from '@tfpipe/core';
import type { Evaluation } from './evaluation.js';

/** The file an evaluation is kept in, inside a run directory. */
export const EVALUATION_JSON = 'evaluation.json';

/** Writes `<runDir>/evaluation.json` atomically (NaN is written as null). Returns its path. */
export async function writeEvaluation(runDir: string, evaluation: Evaluation): Promise<string> {
  const path = join(runDir, EVALUATION_JSON);
  await writeJsonAtomic(path, evaluation);
  return path;
}

/**
 * Reads an evaluation back from a run directory (its evaluation.json) or from the file itself, e.g. the
 * baseline named by `evaluate.gates.vs`. Metric values written as null (NaN) read back as NaN.
 */
export async function readEvaluation(runDirOrFile: string): Promise<Evaluation> {
  let path = runDirOrFile;
  try {
    if ((await stat(runDirOrFile)).isDirectory()) path = join(runDirOrFile, EVALUATION_JSON);
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read an evaluation from ${runDirOrFile}: it does not exist`, { cause: e, hint: 'Point evaluate.gates.vs at a finished run directory.' });
  }
  let parsed: Evaluation;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as Evaluation;
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read an evaluation from ${path}: ${(e as Error).message}`, { cause: e, hint: 'Run `pipeline evaluate` on that run first.' });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.metrics !== 'object' || parsed.metrics === null) {
    throw new TfpipeError('E_IO', `${path} is not an evaluation: it has no "metrics" object`);
  }
  for (const [k, v] of Object.entries(parsed.metrics)) if (v === null) parsed.metrics[k] = Number.NaN;
  return parsed;
}

import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { appendJsonLine, TfpipeError, writeJsonAtomic, zodIssues, formatIssue } from '@tfpipe/core';
import { readRunFiles, resolveUnderRoot } from './run-files.js';

/** `<runs folder>/production`: the run a production server serves. */
export const PRODUCTION_FILE = 'production';
/** `<runs folder>/production.history.jsonl`: every promotion, one line each, oldest first. */
export const PRODUCTION_HISTORY = 'production.history.jsonl';

export const productionPointerSchema = z.looseObject({
  run: z.string().min(1).describe('The run directory, relative to the runs folder'),
  promotedAt: z.string().describe('ISO time of the promotion'),
  reason: z.string().optional().describe('Why it was promoted'),
  parent: z.string().nullable().optional().describe('The run it replaced (relative to the runs folder), null for the first'),
});

export type ProductionPointer = z.output<typeof productionPointerSchema>;

/** Reads and validates the pointer of a runs folder; `runDir` is the real path of the run it names. */
export async function readProduction(runsDir: string): Promise<{ pointer: ProductionPointer; runDir: string }> {
  const file = join(runsDir, PRODUCTION_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new TfpipeError('E_IO', `${file}: no readable production pointer (${(e as Error).message}); promote a run first`, { path: [PRODUCTION_FILE] });
  }
  const r = productionPointerSchema.safeParse(value);
  if (!r.success) {
    const issues = zodIssues(r.error, productionPointerSchema, [], value);
    throw new TfpipeError('E_IO', `${file} is not valid:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`, { issues, path: [PRODUCTION_FILE] });
  }
  const runDir = await resolveUnderRoot(runsDir, r.data.run).catch(() => {
    throw new TfpipeError('E_IO', `${file}: run ${JSON.stringify(r.data.run)} is not a run directory inside ${runsDir}`, { path: [PRODUCTION_FILE, 'run'] });
  });
  return { pointer: r.data, runDir };
}

/**
 * Makes `runDir` (inside `runsDir`) the production run: its files are validated first (a run a server could
 * not load is refused), then the pointer is written atomically and the promotion appended to the history.
 * A server started with `--production <runsDir>` swaps to it. `parent` defaults to the run it replaces.
 */
export async function promote(runsDir: string, runDir: string, options: { reason?: string; parent?: string | null } = {}): Promise<ProductionPointer> {
  const root = await realpath(runsDir).catch(() => {
    throw new TfpipeError('E_IO', `runs folder ${runsDir} does not exist`, { path: ['runsDir'] });
  });
  const dir = await resolveUnderRoot(root, resolve(runDir)).catch(() => {
    throw new TfpipeError('E_USAGE', `${runDir} is not a run directory inside the runs folder ${runsDir}`, { path: ['runDir'] });
  });
  await readRunFiles(dir); // throws, naming the file, when the run could not be served
  let previous: string | null = null;
  try {
    previous = (await readProduction(root)).pointer.run;
  } catch {
    previous = null; // the first promotion, or a broken pointer being replaced
  }
  // A parent given as an absolute path is named like `run`, relative to the runs folder; a name stays as it is.
  const parent = options.parent === undefined ? previous : options.parent === null ? null : isAbsolute(options.parent) ? relative(root, options.parent) : options.parent;
  const pointer: ProductionPointer = {
    run: relative(root, dir),
    promotedAt: new Date().toISOString(),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    parent,
  };
  await writeJsonAtomic(join(root, PRODUCTION_FILE), pointer);
  await appendJsonLine(join(root, PRODUCTION_HISTORY), pointer);
  return pointer;
}

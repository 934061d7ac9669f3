import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { TfpipeError } from '@tfpipe/core';

export interface LabelledFile {
  file: string;
  label: string;
}

/**
 * Lists `dir/<class>/<file>` for files with one of `extensions` (case-insensitive). Classes and files are
 * sorted; the list goes round-robin over classes (first file of each class, then the second, ...), so a
 * `limit` or an unshuffled batch sees every class.
 */
export async function listClassFolders(dir: string, extensions: readonly string[], path: (string | number)[]): Promise<{ classes: string[]; files: LabelledFile[] }> {
  const exts = new Set(extensions.map((e) => e.toLowerCase()));
  const entries = await readdir(dir, { withFileTypes: true });
  const classes = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) {
    throw new TfpipeError('E_DATA', `${dir}: no class folders; expected one sub-folder per class (${dir}/<class>/<file>)`, { path });
  }
  const perClass: LabelledFile[][] = [];
  for (const label of classes) {
    const files = (await readdir(join(dir, label), { withFileTypes: true }))
      .filter((e) => e.isFile() && exts.has(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
    perClass.push(files.map((f) => ({ file: join(dir, label, f), label })));
  }
  const total = perClass.reduce((a, l) => a + l.length, 0);
  if (total === 0) {
    throw new TfpipeError('E_DATA', `${dir}: the class folders ${classes.join(', ')} hold no files ending in ${[...exts].join(', ')}`, { path });
  }
  const files: LabelledFile[] = [];
  const longest = Math.max(...perClass.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const l of perClass) if (i < l.length) files.push(l[i]!);
  return { classes, files };
}

/** Maps `fn` over items with up to `concurrency` calls in flight, yielding results in order. */
export async function* mapOrdered<T, U>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<U>): AsyncGenerator<U> {
  const inflight: Promise<U>[] = [];
  let next = 0;
  try {
    while (next < items.length || inflight.length > 0) {
      while (next < items.length && inflight.length < concurrency) inflight.push(fn(items[next++]!));
      yield await inflight.shift()!;
    }
  } finally {
    await Promise.allSettled(inflight);
  }
}

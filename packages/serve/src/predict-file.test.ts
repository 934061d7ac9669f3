import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedRun } from '@tfpipe/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPredictInput, predictFile } from './predict-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-predict-file-'));
  await writeFile(join(dir, 'rows.csv'), 'a,b\n1,2\n');
  await writeFile(join(dir, 'rows.parquet'), 'x');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('predict input checks (before any model is touched)', () => {
  it('a batch size below 1 or not whole is refused: it would never advance', async () => {
    for (const batchSize of [0, -3, 1.5, Number.NaN]) {
      await expect(checkPredictInput({ input: join(dir, 'rows.csv'), batchSize })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('expected an integer >= 1') });
      // predictFile checks first, so even a run that is not there is never used.
      await expect(predictFile({} as LoadedRun, { input: join(dir, 'rows.csv'), batchSize, write: () => {} })).rejects.toMatchObject({ code: 'E_USAGE' });
    }
  });

  it('names a missing input or an unknown format, and tells a file from a folder', async () => {
    await expect(checkPredictInput({ input: join(dir, 'nope.csv'), batchSize: 8 })).rejects.toThrow(/no such file or folder/);
    await expect(checkPredictInput({ input: join(dir, 'rows.parquet'), batchSize: 8 })).rejects.toThrow(/cannot tell the format from "\.parquet"/);
    expect(await checkPredictInput({ input: join(dir, 'rows.csv'), batchSize: 8 })).toBe('file');
    expect(await checkPredictInput({ input: dir, batchSize: 8 })).toBe('folder');
  });
});

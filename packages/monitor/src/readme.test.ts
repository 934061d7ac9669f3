// The README's example, run as a test; the snippet must stay the same as the README's.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@tfpipe/data';
import { expect, it } from 'vitest';
import { detectDrift, ks2samp, profileLike, profileRows, writeDriftReport } from './index.js';

it('README example', async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'tfpipe-monitor-readme-'));
  // --- README snippet starts
  // The reference: what the training split looked like (one pass, a seeded sample per number).
  const train: Row[] = Array.from({ length: 500 }, (_, i) => ({ age: 20 + (i % 40), city: i % 3 ? 'Oslo' : 'Lima' }));
  const reference = await profileRows(train, { columns: [{ name: 'age', kind: 'number' }, { name: 'city', kind: 'string' }], seed: 1 });

  // The current data, profiled the same way, compared column by column.
  const current: Row[] = train.map((r) => ({ ...r, age: (r.age as number) + 15 }));
  const report = detectDrift(reference, await profileLike(reference, current));
  report.columns.map((c) => [c.column, c.method, c.drifted]); // [['age', 'ks', true], ['city', 'z', false]]
  report.datasetDrift; // true: 1 of 2 columns, and the share is 0.5
  await writeDriftReport(outDir, report); // outDir/drift.json, outDir/drift.html

  // The statistics alone.
  ks2samp([1, 2, 3, 4], [3, 4, 5, 6, 7]).pValue; // as scipy.stats.ks_2samp(..., method='asymp')
  // --- README snippet ends
  expect(report.columns.map((c) => [c.column, c.method, c.drifted])).toEqual([
    ['age', 'ks', true],
    ['city', 'z', false],
  ]);
  expect(report.datasetDrift).toBe(true);
  expect(existsSync(join(outDir, 'drift.json')) && existsSync(join(outDir, 'drift.html'))).toBe(true);
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const snippet = readFileSync(new URL(import.meta.url), 'utf8').split('// --- README snippet starts\n')[1]!.split('  // --- README snippet ends')[0]!;
  for (const line of snippet.split('\n').filter((l) => l.trim())) expect(readme).toContain(line.slice(2));
  await rm(outDir, { recursive: true, force: true });
});

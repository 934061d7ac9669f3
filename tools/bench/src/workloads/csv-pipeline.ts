/**
 * csv-pipeline: a generated numeric CSV (TFPIPE_BENCH_CSV_GB gigabytes, default 5; 0.05 with --quick)
 * through the real `pipeline run` (standardize, an MLP, one epoch), in a child process under
 * /usr/bin/time for its peak RSS. Reports each pass over the file (what it was for, rows, seconds,
 * rows/s, MB/s) from the run's own progress lines, and the run's wall time and peak RSS.
 *
 * The file is written to TFPIPE_BENCH_DIR (default .bench-data/, gitignored) and reused; delete it after.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult, Workload } from '../types.js';
import { generate } from './csv-stream.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

const config = (file: string) => `name: bench-csv-pipeline
seed: 1
data:
  source: { type: csv, path: ${JSON.stringify(file)} }
  features: [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9]
  label: label
  split: { validation: 0.02, test: 0.02 }
preprocess:
  - { type: standardize, columns: [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9] }
model: { type: mlp, units: [16] }
train: { epochs: 1, batchSize: 4096, metrics: [accuracy] }
evaluate: { metrics: [accuracy], report: { html: false, png: false } }
`;

// `read numeric-5gb-11cols.csv (reading the labels), pass 3: 63,264,112 rows, 5.00 GB in 88.1 s (718,000 rows/s, 58.1 MB/s)`
const PASS = /^read (\S+)(?: \(([^)]*)\))?, pass (\d+): ([\d,]+) rows(?:, [\d.]+ [GM]B)? in ([\d.]+) s \(([\d,]+) rows\/s(?:, ([\d.]+) MB\/s)?\)/;

export const workload: Workload = {
  name: 'csv-pipeline',
  description: 'A multi-GB numeric CSV through `pipeline run`: rows/s per pass over the data and peak RSS',
  optIn: true,
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const gb = opts.quick ? 0.05 : Number(process.env.TFPIPE_BENCH_CSV_GB ?? 5);
    const dir = resolve(process.env.TFPIPE_BENCH_DIR ?? join(root, '.bench-data'));
    const file = join(dir, `numeric-${gb}gb-11cols.csv`);
    await generate(file, gb * 1024 ** 3);
    const work = join(dir, `csv-pipeline-${process.pid}`);
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'pipeline.yaml'), config(file));
    const args = ['-f', 'peak-rss-kb %M', process.execPath, '--conditions=@tfpipe/source', '--import', 'tsx', join(root, 'packages/cli/src/bin.ts'), 'run', join(work, 'pipeline.yaml'), '--out', join(work, 'run'), '--no-progress'];
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`pipeline run failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const lines = r.stderr.split('\n');
    const rss = Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN) / 1024;
    const out: BenchResult[] = [];
    for (const l of lines) {
      const m = PASS.exec(l);
      if (!m) continue;
      out.push({
        workload: 'csv-pipeline',
        pass: Number(m[3]),
        for: m[2] ?? '',
        rows: Number(m[4]!.replaceAll(',', '')),
        seconds: Number(m[5]),
        rowsPerSec: Number(m[6]!.replaceAll(',', '')),
        ...(m[7] ? { mbPerSec: Number(m[7]) } : {}),
      });
    }
    const epoch = lines.find((l) => /^epoch 1\/1 +loss=/.test(l));
    out.push({ workload: 'csv-pipeline', pass: 'whole run', fileGB: gb, seconds: +seconds.toFixed(1), peakRssMB: Math.round(rss), ...(epoch ? { epoch: epoch.trim() } : {}) });
    return out;
  },
};

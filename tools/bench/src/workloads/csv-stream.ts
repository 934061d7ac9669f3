/**
 * csv-stream: streams a generated numeric CSV through @tfpipe/data and reports rows/s and peak RSS.
 *
 * The file (TFPIPE_BENCH_CSV_GB gigabytes, default 1; 0.05 with --quick) is written once under
 * .bench-data/ (gitignored) and reused. Each reader runs in its own child process so its peak RSS is its
 * own: the fast byte-level reader (rows, and rows packed into float32 batches), csv-parse on a prefix,
 * and pandas' read_csv (/usr/bin/python3) on the same file for the ratio.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '@tfpipe/core';
import { openSource } from '@tfpipe/data';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

const here = fileURLToPath(import.meta.url);
const root = resolve(dirname(here), '../../../..');
const FEATURES = 10;

/** Writes the numeric CSV (10 float columns, an integer label 0-9) once; an existing file is reused. */
export async function generate(path: string, bytes: number): Promise<void> {
  if (existsSync(path)) return;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  const rng = createRng(7);
  const header = `${Array.from({ length: FEATURES }, (_, i) => `f${i}`).join(',')},label\n`;
  out.write(header);
  let written = header.length;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const f: string[] = [];
      for (let j = 0; j < FEATURES; j++) f.push((rng.normal() * 10 ** (j % 4)).toFixed(4));
      f.push(String(rng.int(10)));
      lines.push(f.join(','));
    }
    const chunk = `${lines.join('\n')}\n`;
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  await rename(tmp, path);
}

/** Runs in the child: reads the file one way and prints {rows, seconds, peakRssMB}. */
export async function measure(file: string, mode: 'fast' | 'batches' | 'csv-parse', limit?: number): Promise<void> {
  const src = await openSource({ type: 'csv', path: file, parser: mode === 'csv-parse' ? 'csv-parse' : 'fast', ...(limit ? { limit } : {}) }, { baseDir: root });
  const names = src.columns.map((c) => c.name);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rows = 0;
  let check = 0;
  if (mode === 'batches') {
    // What a trainer sees: batches of 1024 rows as one Float32Array [batch, columns].
    for await (const batch of src.rows().batch(1024)) {
      const x = new Float32Array(batch.length * names.length);
      for (let i = 0; i < batch.length; i++) for (let j = 0; j < names.length; j++) x[i * names.length + j] = batch[i]![names[j]!] as number;
      rows += batch.length;
      check += x[0]!;
    }
  } else {
    for await (const r of src.rows()) {
      rows++;
      check += r.f0 as number;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({ rows, seconds, cpuSeconds, peakRssMB: process.resourceUsage().maxRSS / 1024, check }));
}

interface Measured {
  rows: number;
  /** Wall-clock seconds of the read alone. */
  seconds: number;
  /** CPU seconds (user + system) of the read: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  peakRssMB: number;
}

function child(file: string, mode: string, limit?: number): Measured {
  const code = `const m = await import(${JSON.stringify(here)}); await m.measure(${JSON.stringify(file)}, ${JSON.stringify(mode)}${limit ? `, ${limit}` : ''});`;
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`csv-stream child (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const PANDAS = `
import sys, time, resource
import pandas as pd
t = time.perf_counter()
c = time.process_time()
df = pd.read_csv(sys.argv[1])
s = time.perf_counter() - t
cs = time.process_time() - c
print(len(df), s, cs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
`;

function pandas(file: string): (Measured & { version: string }) | undefined {
  const v = spawnSync('/usr/bin/python3', ['-c', 'import pandas; print(pandas.__version__)'], { encoding: 'utf8' });
  if (v.status !== 0) return undefined;
  const r = spawnSync('/usr/bin/python3', ['-c', PANDAS, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pandas failed: ${r.stderr}`);
  const [rows, seconds, cpuSeconds, rss] = r.stdout.trim().split(/\s+/).map(Number);
  return { rows: rows!, seconds: seconds!, cpuSeconds: cpuSeconds!, peakRssMB: rss!, version: v.stdout.trim() };
}

export const workload: Workload = {
  name: 'csv-stream',
  description: 'Streams a generated numeric CSV (TFPIPE_BENCH_CSV_GB, default 1) and compares with pandas read_csv',
  optIn: true,
  async run(opts: BenchOptions): Promise<BenchResult[]> {
    const gb = opts.quick ? 0.05 : Number(process.env.TFPIPE_BENCH_CSV_GB ?? 1);
    const file = join(root, '.bench-data', `numeric-${gb}gb-${FEATURES + 1}cols.csv`);
    await generate(file, gb * 1024 ** 3);
    const mb = statSync(file).size / 1024 ** 2;
    const out: BenchResult[] = [];
    const row = (reader: string, r: Measured): BenchResult => ({
      workload: 'csv-stream',
      reader,
      fileMB: +mb.toFixed(1),
      rows: r.rows,
      seconds: +r.seconds.toFixed(2),
      cpuSeconds: +r.cpuSeconds.toFixed(2),
      rowsPerSec: Math.round(r.rows / r.seconds),
      rowsPerCpuSec: Math.round(r.rows / r.cpuSeconds),
      mbPerSec: +((mb * (r.rows / Math.max(1, totalRows))) / r.seconds).toFixed(1),
      peakRssMB: Math.round(r.peakRssMB),
    });
    const fast = child(file, 'fast');
    const totalRows = fast.rows;
    out.push(row('tfpipe-fast-rows', fast));
    out.push(row('tfpipe-fast-float32-batches', child(file, 'batches')));
    // csv-parse on a prefix: the general path is much slower, a full GB would take minutes.
    const prefix = Math.min(totalRows, 1_000_000);
    out.push(row('tfpipe-csv-parse-rows', child(file, 'csv-parse', prefix)));
    const withPandas = gb <= 1.5 || process.env.TFPIPE_BENCH_PANDAS === '1';
    const p = withPandas ? pandas(file) : undefined;
    if (p) {
      out.push(row(`pandas-${p.version}-read_csv`, p));
      out.push({
        workload: 'csv-stream',
        reader: 'ratio tfpipe-fast / pandas',
        wall: +(fast.seconds > 0 ? p.seconds / fast.seconds : 0).toFixed(3),
        cpu: +(p.cpuSeconds / fast.cpuSeconds).toFixed(3),
      });
    }
    return out;
  },
};

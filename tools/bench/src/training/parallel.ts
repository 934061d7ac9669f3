// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import { createDataParallel } from '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import type { BenchOptions, BenchResult, Workload } from '../types.js';
import { benchData } from './data.js';
import { buildModel, type ModelKind } from './models.js';
import { BATCH, type Sizes, timeBackend, torchRow } from './run.js';

// Workers import this module first: it registers the bench's custom layer (BenchEncoderBlock).
const MODELS_MODULE = new URL(import.meta.url.endsWith('.ts') ? './models.ts' : './models.js', import.meta.url).href;

/**
 * Trains `train` samples with data-parallel gradients (`workers` threads besides this one; 0 runs the same
 * loop on this thread alone), Adam applied here, the loss read every step as model.fit does.
 */
async function timeParallel(kind: ModelKind, workers: number, train: number): Promise<BenchResult> {
  const choice = await useBackend('wasm');
  const model = buildModel(kind);
  const data = benchData(kind, Math.max(train, 2 * BATCH));
  const optimizer = tf.train.adam(1e-3);
  const t0 = performance.now();
  const dp = await createDataParallel(model, { workers, loss: 'categoricalCrossentropy', setup: [{ module: MODELS_MODULE }] });
  const startSec = (performance.now() - t0) / 1000;
  let last = Number.NaN;
  const step = async (start: number) => {
    const size = Math.min(BATCH, train - start);
    const [xs, ys] = [data.xs.slice(start, size), data.ys.slice(start, size)];
    const { loss, grads } = await dp.computeGradients(xs, ys);
    optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
    last = loss.dataSync()[0]!;
    tf.dispose([xs, ys, loss, grads]);
  };
  try {
    // Warm-up: kernel setup, lazy allocations and V8's wasm tier-up (dynamic tiering compiles hot functions
    // with TurboFan during the first seconds), in every thread. A fresh worker is slow for its first ~15 steps.
    for (let i = 0; i < 20; i++) await step((i * BATCH) % Math.max(BATCH, train - BATCH));
    const t1 = performance.now();
    for (let i = 0; i < train; i += BATCH) await step(i);
    const sec = (performance.now() - t1) / 1000;
    return {
      workload: `${kind}-parallel`,
      backend: choice.tfName,
      mode: workers === 0 ? 'data-parallel loop, no workers' : `data-parallel, ${workers} worker${workers > 1 ? 's' : ''} + main`,
      workers,
      trainSamplesPerSec: train / sec,
      trainSamples: train,
      batch: BATCH,
      startSec,
      loss: last,
      data: data.source,
    };
  } finally {
    await dp.dispose();
    optimizer.dispose();
    tf.dispose([data.xs, data.ys]);
    model.dispose();
  }
}

/**
 * Data-parallel training on wasm over worker_threads against the same model trained by model.fit on one
 * thread and, with --compare-torch, PyTorch on as many threads as the most the data-parallel rows use. Rows: model.fit (1 thread), the data-parallel loop
 * with 0 workers (its own overhead), then 1..n-1 workers.
 */
export function parallelWorkload(kind: ModelKind, description: string, sizes: Sizes, quick: Sizes, workerCounts: number[], optIn = false): Workload {
  return {
    name: `${kind}-parallel`,
    description,
    optIn,
    // Data-parallel training puts one single-threaded wasm instance on each core (the main thread's too).
    wasmThreads: 1,
    async run(opts: BenchOptions): Promise<BenchResult[]> {
      if (opts.backend && opts.backend !== 'wasm') {
        return [{ workload: `${kind}-parallel`, backend: opts.backend, skipped: 'data-parallel training runs on the wasm backend only' }];
      }
      const { train, infer } = opts.quick ? quick : sizes;
      const single = await timeBackend(kind, 'wasm', train, infer);
      const results: BenchResult[] = [{ ...single, workload: `${kind}-parallel`, mode: 'model.fit, 1 thread' }];
      for (const w of workerCounts) results.push(await timeParallel(kind, w, train));
      if (opts.compareTorch) {
        // The data-parallel rows use up to max(workers) + 1 single-threaded wasm instances: torch gets as many threads.
        const torch = torchRow(kind, train, infer, Math.max(1, ...workerCounts.map((w) => w + 1)));
        results.push(torch);
        for (const r of results) {
          if (r === torch || typeof torch.trainSamplesPerSec !== 'number') continue;
          r.trainVsTorch = (r.trainSamplesPerSec as number) / torch.trainSamplesPerSec;
        }
      }
      return results;
    },
  };
}

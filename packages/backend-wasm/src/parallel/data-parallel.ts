import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { checkShardLossSpec, resolveShardLoss, type ShardLoss, type ShardLossSpec } from './shard-loss.js';
import { spawnWorker } from './spawn.js';
import type { WorkerInit, WorkerSetup } from './worker.js';
import { type FromWorker, type ToWorker, type WireTensor, fromWire, shardGradients, trainableVariables, transferList, weightLayout } from './wire.js';

type Tensors = tf.Tensor | Record<string, tf.Tensor>;

export interface DataParallelOptions {
  /** Worker threads besides the main thread; 'auto' = available cores - 1 (0 computes everything here). Default 'auto'. */
  workers?: number | 'auto';
  /** The loss each thread computes on its shard (see ShardLossSpec). Required. */
  loss: ShardLossSpec;
  /** Modules each worker imports before rebuilding the model, e.g. custom layers. Default []. */
  setup?: WorkerSetup[];
  /**
   * 'adaptive' (default): shard sizes follow each thread's measured time per sample (the calling thread also
   * splits, combines and applies the optimizer; a thread may share its core with other processes); 'even':
   * equal shards. Either way the gradients are those of the whole batch.
   */
  balance?: 'adaptive' | 'even';
  /** 'auto' (default): every computeGradients sends the current weights first; 'manual': only syncWeights() does. */
  sync?: 'auto' | 'manual';
}

export interface DataParallelGradients {
  /** The batch loss: shard losses weighted by shard size. The caller disposes. */
  loss: tf.Scalar;
  /** Gradients by the main model's variable names (trainable weights the loss reaches). The caller disposes. */
  grads: tf.NamedTensorMap;
  /** The first output for the whole batch (training mode), when asked for (training metrics). The caller disposes. */
  predictions?: tf.Tensor;
}

export interface ComputeOptions {
  /** Also return the first output's predictions for the batch. Default false. */
  predictions?: boolean;
}

export interface DataParallel {
  /** Worker threads in use (0: everything runs on the calling thread). */
  readonly workers: number;
  /** Splits the batch over the main thread and the workers; same gradients as one pass over the whole batch. */
  computeGradients(xs: Tensors, ys: Tensors, sampleWeight?: tf.Tensor, options?: ComputeOptions): Promise<DataParallelGradients>;
  /** Copies the main model's weights (all of them, batch-norm statistics too) for the workers' next step. */
  syncWeights(): void;
  /** The last step's shard sizes (this thread first) and each thread's smoothed compute time per sample (ms). */
  stats(): { shardSizes: number[]; msPerSample: (number | undefined)[] };
  /** Stops the workers. Idempotent. */
  dispose(): Promise<void>;
}

// Sequential models leave inputNames/outputNames empty until compiled: fall back to the layers' names
// (as @tfpipe/trainer does, so a trainer batch can be passed as it is).
function inputNamesOf(model: tfl.LayersModel): string[] {
  return model.inputNames.length ? model.inputNames : model.inputs.map((i) => i.sourceLayer.name);
}
function outputNamesOf(model: tfl.LayersModel): string[] {
  return model.outputNames.length ? model.outputNames : model.outputs.map((o) => o.sourceLayer.name);
}

/** Tensors in the model's input/output order; a record is matched by name (any one key for a single one). */
function ordered(value: Tensors, names: string[], what: 'xs' | 'ys'): tf.Tensor[] {
  const kind = what === 'xs' ? 'inputs' : 'outputs';
  if (value instanceof tf.Tensor) {
    if (names.length !== 1) throw new TfpipeError('E_USAGE', `${what}: the model has ${names.length} ${kind} (${names.join(', ')}); pass a record by name`, { path: [what] });
    return [value];
  }
  const keys = Object.keys(value);
  if (names.length === 1 && keys.length === 1) return [value[keys[0]!]!];
  return names.map((n) => {
    const t = value[n];
    if (!t) throw new TfpipeError('E_USAGE', `${what}: no tensor for the model's ${kind.slice(0, -1)} "${n}"; received ${keys.join(', ') || 'none'}`, { path: [what, n] });
    return t;
  });
}

/**
 * Shard sizes proportional to `rates` (samples per ms; largest remainders get the leftover samples), at least
 * one sample per thread while there are enough, so every thread keeps being measured.
 */
export function balancedSizes(n: number, rates: number[]): number[] {
  const floor = n >= rates.length ? 1 : 0;
  const rest = n - floor * rates.length;
  const total = rates.reduce((a, b) => a + b, 0);
  const exact = rates.map((r) => (rest * r) / total);
  const sizes = exact.map((e) => floor + Math.floor(e));
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) sizes[order[k]![1]]!++;
  return sizes;
}

/** Shard sizes: as even as possible, the larger ones first. */
export function shardSizes(n: number, parts: number): number[] {
  const base = Math.floor(n / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < n % parts ? 1 : 0));
}

function rows(t: tf.Tensor, data: Float32Array | Int32Array | Uint8Array, start: number, count: number): WireTensor {
  const per = t.size / t.shape[0]!;
  return { data: data.slice(start * per, (start + count) * per), shape: [count, ...t.shape.slice(1)], dtype: t.dtype as WireTensor['dtype'] };
}

function resolveWorkers(workers: number | 'auto'): number {
  if (workers === 'auto') return Math.max(0, availableParallelism() - 1);
  if (!Number.isInteger(workers) || workers < 0) {
    throw TfpipeError.fromIssues([{ path: ['workers'], message: 'not a worker count', received: workers, expected: "'auto' | an integer >= 0" }], 'E_USAGE');
  }
  return workers;
}

/** A started worker and its open requests. */
class GradientWorker {
  private readonly pending = new Map<number, { resolve: (m: Extract<FromWorker, { type: 'result' }>) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      onFail(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      worker.unref();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        worker.unref();
        onReady();
      } else if (m.type === 'result') {
        this.settle(m.id)?.resolve(m);
      } else if (m.id !== undefined && this.pending.has(m.id)) {
        this.settle(m.id)!.reject(new TfpipeError('E_TRAIN', `gradient worker ${index}: ${m.message}`, { cause: m.stack }));
      } else fail(new TfpipeError('E_TRAIN', `gradient worker ${index} failed to start: ${m.message}`, { cause: m.stack }));
    });
    worker.on('error', (e) => fail(new TfpipeError('E_TRAIN', `gradient worker ${index} crashed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => fail(new TfpipeError('E_TRAIN', `gradient worker ${index} exited (code ${code})`)));
  }

  // Referenced only while starting or computing: a forgotten dispose() must not keep the process alive,
  // but an awaited step must (an unreferenced worker lets a top-level await end with exit code 13).
  private settle(id: number) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    return p;
  }

  request(m: Omit<Extract<ToWorker, { type: 'step' }>, 'id' | 'type'>): Promise<Extract<FromWorker, { type: 'result' }>> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'step', ...m, id } satisfies ToWorker, transferList([...m.xs, ...m.ys, m.sampleWeight]));
    });
  }
}

/**
 * Data-parallel gradients over worker threads: each worker holds a replica of `model` (rebuilt from its
 * topology on the same backend), the batch is split between the calling thread and the workers, and the
 * shard gradients are averaged by shard size. The caller applies the optimizer to the main model.
 *
 * @example
 *   const dp = await createDataParallel(model, { workers: 'auto', loss: 'categoricalCrossentropy' });
 *   const { loss, grads } = await dp.computeGradients(xs, ys);
 *   optimizer.applyGradients(grads); tf.dispose([loss, grads]);
 *   await dp.dispose();
 */
export async function createDataParallel(model: tfl.LayersModel, options: DataParallelOptions): Promise<DataParallel> {
  const lossSpec = checkShardLossSpec(options.loss, ['loss']);
  const count = resolveWorkers(options.workers ?? 'auto');
  const sync = options.sync ?? 'auto';
  const balance = options.balance ?? 'adaptive';
  if (balance !== 'adaptive' && balance !== 'even') {
    throw TfpipeError.fromIssues([{ path: ['balance'], message: 'unknown balance mode', received: balance, expected: "'adaptive' | 'even'" }], 'E_USAGE');
  }
  // Per thread (0 = this one): smoothed milliseconds per sample, once measured.
  const msPerSample: (number | undefined)[] = [];
  const observe = (i: number, ms: number, size: number) => {
    if (size === 0) return;
    const x = ms / size;
    const prev = msPerSample[i];
    msPerSample[i] = prev === undefined ? x : 0.7 * prev + 0.3 * x;
  };
  if (sync !== 'auto' && sync !== 'manual') {
    throw TfpipeError.fromIssues([{ path: ['sync'], message: 'unknown sync mode', received: sync, expected: "'auto' | 'manual'" }], 'E_USAGE');
  }
  const backend = tf.getBackend();
  if (count > 0 && backend !== 'wasm' && backend !== 'cpu') {
    throw new TfpipeError('E_BACKEND', `data-parallel workers run the wasm or cpu backend; the current backend is "${backend}"`, { path: ['backend'] });
  }
  const nonFloat = model.weights.filter((w) => w.dtype !== 'float32');
  if (nonFloat.length > 0) {
    throw new TfpipeError('E_MODEL', `data-parallel training shares float32 weights; ${nonFloat.map((w) => `${w.name} is ${w.dtype}`).join(', ')}`);
  }
  const vars = trainableVariables(model);
  const loss: ShardLoss = await resolveShardLoss(lossSpec, model);
  const { slots, total } = weightLayout(model);
  const shared = new SharedArrayBuffer(Math.max(1, total) * 4);
  const view = new Float32Array(shared);
  let version = 0;
  const writeWeights = () => {
    for (const [i, w] of model.weights.entries()) view.set(w.read().dataSync() as Float32Array, slots[i]!.offset);
    version++;
  };
  writeWeights();

  const init: WorkerInit = {
    backend,
    topology: JSON.stringify(model.toJSON(null, false)),
    weights: shared,
    slots,
    loss: lossSpec,
    setup: (options.setup ?? []).map((s) => ({ module: String(s.module), ...(s.call !== undefined ? { call: s.call } : {}) })),
  };
  const workers: GradientWorker[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(new GradientWorker(spawnWorker(init), i));
    await Promise.all(workers.map((w) => w.ready));
  } catch (e) {
    await Promise.allSettled(workers.map((w) => w.worker.terminate()));
    throw e;
  }

  let lastSizes: number[] = [];
  let busy = false;
  let disposed = false;
  const dp: DataParallel = {
    workers: count,
    syncWeights() {
      if (busy) throw new TfpipeError('E_USAGE', 'syncWeights() while computeGradients() is running');
      writeWeights();
    },
    async computeGradients(xsIn, ysIn, sampleWeight, computeOptions) {
      const keep = computeOptions?.predictions ?? false;
      if (disposed) throw new TfpipeError('E_USAGE', 'computeGradients() after dispose()');
      if (busy) throw new TfpipeError('E_USAGE', 'computeGradients() while another call is running; await it first');
      busy = true;
      try {
        if (sync === 'auto' && workers.length > 0) writeWeights();
        const xs = ordered(xsIn, inputNamesOf(model), 'xs');
        const ys = ordered(ysIn, outputNamesOf(model), 'ys');
        const n = xs[0]!.shape[0]!;
        const threads = workers.length + 1;
        const measured = msPerSample.length === threads && msPerSample.every((m) => m !== undefined && m > 0);
        const sizes = balance === 'adaptive' && measured && n >= threads ? balancedSizes(n, msPerSample.map((m) => 1 / m!)) : shardSizes(n, threads);
        lastSizes = sizes;
        const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
        const all = [...xs, ...ys, ...(sampleWeight ? [sampleWeight] : [])];
        const data = sizes.slice(1).some((x) => x > 0) ? all.map((t) => t.dataSync() as Float32Array) : [];
        // Workers first, so they compute while this thread does its own shard.
        const requests = workers.map((w, i) => {
          const [start, size] = [starts[i + 1]!, sizes[i + 1]!];
          if (size === 0) return undefined;
          const wire = all.map((t, j) => rows(t, data[j]!, start, size));
          return w.request({
            version,
            predictions: keep,
            xs: wire.slice(0, xs.length),
            ys: wire.slice(xs.length, xs.length + ys.length),
            ...(sampleWeight ? { sampleWeight: wire[wire.length - 1]! } : {}),
          });
        });
        let mine: ReturnType<typeof shardGradients> | undefined;
        let mineError: unknown;
        const t0 = performance.now();
        try {
          mine = tf.tidy(() => {
            const part = (t: tf.Tensor) => (sizes[0] === n ? t : tf.slice(t, 0, sizes[0]!));
            return shardGradients(model, vars, xs.map(part), ys.map(part), sampleWeight ? part(sampleWeight) : undefined, loss, keep);
          });
        } catch (e) {
          mineError = e;
        }
        observe(0, performance.now() - t0, sizes[0]!);
        const settled = await Promise.allSettled(requests.map((r) => r ?? Promise.resolve(undefined)));
        try {
          if (mineError) throw mineError;
          const failed = settled.find((s) => s.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
          settled.forEach((r, i) => {
            const v = (r as PromiseFulfilledResult<{ ms: number } | undefined>).value;
            if (v) observe(i + 1, v.ms, sizes[i + 1]!);
          });
          return combine(mine!, settled.map((s) => (s as PromiseFulfilledResult<Extract<FromWorker, { type: 'result' }> | undefined>).value), sizes, n, vars);
        } finally {
          if (mine) tf.dispose([mine.value, ...mine.grads.filter((g): g is tf.Tensor => g !== undefined), ...(mine.predictions ? [mine.predictions] : [])]);
        }
      } finally {
        busy = false;
      }
    },
    stats() {
      return { shardSizes: lastSizes.slice(), msPerSample: msPerSample.slice() };
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.allSettled(workers.map((w) => w.worker.terminate()));
    },
  };
  return dp;
}

/** Weighted mean of the shard losses and gradients (weights: shard size / batch size). */
function combine(
  mine: { value: tf.Scalar; grads: (tf.Tensor | undefined)[]; predictions?: tf.Tensor },
  others: (Extract<FromWorker, { type: 'result' }> | undefined)[],
  sizes: number[],
  n: number,
  vars: tf.Variable[],
): DataParallelGradients {
  const w0 = sizes[0]! / n;
  if (others.every((o) => o === undefined)) {
    // Everything ran here: hand back the tensors as they are (kept from the caller's dispose).
    const grads = Object.fromEntries(vars.flatMap((v, i) => (mine.grads[i] ? [[v.name, mine.grads[i]!.clone()]] : [])));
    return { loss: mine.value.clone(), grads, ...(mine.predictions ? { predictions: mine.predictions.clone() } : {}) };
  }
  let lossValue = mine.value.dataSync()[0]! * w0;
  others.forEach((o, k) => {
    if (o) lossValue += o.loss * (sizes[k + 1]! / n);
  });
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    const g0 = mine.grads[i];
    if (!g0 && others.every((o) => !o?.grads[i])) return;
    const acc = new Float32Array(v.size);
    if (g0) {
      const d = g0.dataSync() as Float32Array;
      for (let j = 0; j < acc.length; j++) acc[j] = d[j]! * w0;
    }
    others.forEach((o, k) => {
      const d = o?.grads[i];
      if (!d) return;
      const w = sizes[k + 1]! / n;
      for (let j = 0; j < acc.length; j++) acc[j] = acc[j]! + d[j]! * w;
    });
    grads[v.name] = tf.tensor(acc, v.shape);
  });
  let predictions: tf.Tensor | undefined;
  if (mine.predictions) {
    const parts = [mine.predictions, ...others.flatMap((o) => (o?.predictions ? [fromWire(o.predictions)] : []))];
    predictions = tf.concat(parts, 0);
    tf.dispose(parts.slice(1));
  }
  return { loss: tf.scalar(lossValue), grads, ...(predictions ? { predictions } : {}) };
}

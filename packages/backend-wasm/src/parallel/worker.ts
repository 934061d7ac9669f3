import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '../register.js';
import { setWasmThreads } from '../threaded.js';
import { resolveShardLoss, type ShardLoss, type ShardLossSpec } from './shard-loss.js';
import { type FromWorker, type ToWorker, type WeightSlot, type WireTensor, fromWire, shardGradients, toWire, trainableVariables, transferList } from './wire.js';

/** A module a worker imports before it rebuilds the model (custom layers), and the export it then calls. */
export interface WorkerSetup {
  module: string;
  call?: string;
}

/** What the main thread hands each worker at start (structured-cloned; the weight buffer is shared). */
export interface WorkerInit {
  backend: string;
  topology: string;
  weights: SharedArrayBuffer;
  slots: WeightSlot[];
  loss: ShardLossSpec;
  setup: WorkerSetup[];
}

const port = parentPort!;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function start(init: WorkerInit): Promise<{ model: tfl.LayersModel; vars: tf.Variable[]; loss: ShardLoss }> {
  if (init.backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  registerWasmTrainingKernels();
  // Each worker is one of the threads data-parallel training spreads over: one XNNPACK thread each.
  setWasmThreads(1);
  for (const s of init.setup) {
    const mod = (await import(s.module)) as Record<string, unknown>;
    if (s.call !== undefined) {
      const fn = mod[s.call];
      if (typeof fn !== 'function') throw new Error(`setup module ${s.module} has no function export "${s.call}"`);
      fn();
    }
  }
  if (!(await tf.setBackend(init.backend))) throw new Error(`backend "${init.backend}" failed to start in the worker`);
  await tf.ready();
  const model = await tfl.models.modelFromJSON(JSON.parse(init.topology) as tf.serialization.ConfigDict);
  const shapes = model.weights.map((w) => w.shape.join('x')).join(',');
  const expected = init.slots.map((s) => s.shape.join('x')).join(',');
  if (shapes !== expected) throw new Error(`the rebuilt model's weights [${shapes}] differ from the main model's [${expected}]`);
  return { model, vars: trainableVariables(model), loss: await resolveShardLoss(init.loss, model) };
}

/** Reads the main thread's weights from the shared buffer into the replica. */
function loadWeights(model: tfl.LayersModel, init: WorkerInit): void {
  const all = new Float32Array(init.weights);
  const ts = init.slots.map((s) => tf.tensor(all.slice(s.offset, s.offset + s.size), s.shape));
  model.setWeights(ts);
  tf.dispose(ts);
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const { model, vars, loss } = await start(init);
  let version = -1;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      model.dispose();
      port.close();
      return;
    }
    try {
      const t0 = performance.now();
      if (m.version !== version) {
        loadWeights(model, init);
        version = m.version;
      }
      let lossValue = Number.NaN;
      let grads: (Float32Array | null)[] = [];
      let predictions: WireTensor | undefined;
      tf.tidy(() => {
        const xs = m.xs.map(fromWire);
        const ys = m.ys.map(fromWire);
        const sw = m.sampleWeight ? fromWire(m.sampleWeight) : undefined;
        const r = shardGradients(model, vars, xs, ys, sw, loss, m.predictions);
        if (r.predictions) {
          predictions = toWire(r.predictions);
          r.predictions.dispose();
        }
        grads = r.grads.map((g) => (g ? (g.dataSync() as Float32Array).slice() : null));
        lossValue = r.value.dataSync()[0]!;
      });
      const buffers = grads.filter((g): g is Float32Array => g !== null).map((g) => g.buffer as ArrayBuffer);
      send({ type: 'result', id: m.id, loss: lossValue, grads, ...(predictions ? { predictions } : {}), ms: performance.now() - t0 }, [...buffers, ...transferList([predictions])]);
    } catch (e) {
      const err = e as Error;
      send({ type: 'error', id: m.id, message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
    }
  });
  send({ type: 'ready' });
}

main().catch((e: Error) => send({ type: 'error', message: e.message, ...(e.stack ? { stack: e.stack } : {}) }));

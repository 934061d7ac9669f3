/**
 * onnx: inference with onnxruntime-node over our ONNX export vs TF.js on the wasm backend, same model, same
 * inputs, batch 1, 32 and 128; and how long the export takes. Every timed pass is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmThreadsInUse } from '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import { OnnxModel, exportOnnx } from '@tfpipe/onnx';
import { benchData } from '../training/data.js';
import { buildModel, type ModelKind } from '../training/models.js';
import type { BenchOptions, BenchResult, Workload } from '../types.js';

const BATCHES = [1, 32, 128];
const PASSES = 3;

async function measure(kind: ModelKind, opts: BenchOptions): Promise<BenchResult[]> {
  await useBackend((opts.backend ?? 'wasm') as 'wasm');
  const model = buildModel(kind);
  const samples = opts.quick ? 256 : 2048;
  const data = benchData(kind, samples);
  const t0 = performance.now();
  const exported = exportOnnx(model);
  const exportMs = performance.now() - t0;
  const threads = wasmThreadsInUse();
  const ort = await OnnxModel.load(exported.bytes, { threads });
  const name = exported.inputs[0]!.name;
  const flat = data.xs.dataSync() as Float32Array;
  const per = flat.length / samples;
  const out: BenchResult[] = [];
  try {
    for (const batch of BATCHES) {
      const n = batch === 1 ? Math.min(samples, 256) : samples;
      const tfjsPass = async () => {
        const s = performance.now();
        for (let i = 0; i + batch <= n; i += batch) {
          const y = tf.tidy(() => model.predictOnBatch(data.xs.slice(i, batch)) as tf.Tensor);
          await y.data();
          y.dispose();
        }
        return n / ((performance.now() - s) / 1000);
      };
      const ortPass = async () => {
        const s = performance.now();
        for (let i = 0; i + batch <= n; i += batch) {
          await ort.run({ [name]: { data: flat.subarray(i * per, (i + batch) * per), shape: [batch, ...data.xs.shape.slice(1)] } });
        }
        return n / ((performance.now() - s) / 1000);
      };
      await tfjsPass(); // warm-up, untimed
      await ortPass();
      for (let pass = 1; pass <= PASSES; pass++) {
        const wasm = await tfjsPass();
        const onnx = await ortPass();
        out.push({ workload: `onnx-${kind}`, batch, pass, threads, wasmSamplesPerSec: wasm, onnxSamplesPerSec: onnx, speedup: onnx / wasm, exportMs });
      }
    }
  } finally {
    await ort.dispose();
    tf.dispose([data.xs, data.ys]);
    model.dispose();
  }
  return out;
}

function onnxWorkload(kind: ModelKind, wasmThreads: number | 'auto'): Workload {
  return {
    name: `onnx-${kind}`,
    description: `${kind}: inference samples/s, onnxruntime-node (our ONNX export) vs tfjs wasm, batch 1/32/128, export time`,
    wasmThreads,
    run: (opts) => measure(kind, opts),
  };
}

export const workloads: Workload[] = [onnxWorkload('mnist-cnn', 'auto'), onnxWorkload('text-lstm', 1), onnxWorkload('text-transformer', 1)];

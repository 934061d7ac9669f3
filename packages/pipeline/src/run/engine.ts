import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, TfpipeError } from '@tfpipe/core';
import { OnnxModel, ONNXRUNTIME_INSTALL_HINT, exportOnnx, onnxRuntimeAvailable } from '@tfpipe/onnx';

/** Which runtime computes predictions: TF.js (the backend in use) or onnxruntime-node over the exported model. */
export type EngineChoice = 'auto' | 'onnxruntime' | 'tfjs';

export interface Engine {
  name: 'tfjs' | 'onnxruntime';
  /** Why this engine (for logs, /metadata). */
  reason: string;
  /** The model's first output for a batch's inputs; the caller disposes it. */
  infer(xs: Batch['xs']): Promise<tf.Tensor>;
  dispose(): Promise<void>;
}

function tfjsEngine(model: tfl.LayersModel, order: (xs: Batch['xs']) => tf.Tensor | tf.Tensor[], reason: string): Engine {
  return {
    name: 'tfjs',
    reason,
    async infer(xs) {
      const out = model.predictOnBatch(order(xs)) as tf.Tensor | tf.Tensor[]; // predict() would split it into 32s
      if (Array.isArray(out)) {
        tf.dispose(out.slice(1));
        return out[0]!;
      }
      return out;
    },
    async dispose() {},
  };
}

async function onnxEngine(model: tfl.LayersModel, reason: string, threads?: number): Promise<Engine> {
  const exported = exportOnnx(model);
  const session = await OnnxModel.load(exported.bytes, threads ? { threads } : {});
  const names = exported.inputs.map((i) => i.name);
  return {
    name: 'onnxruntime',
    reason,
    async infer(xs) {
      const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
      const list = xs instanceof tf.Tensor ? [xs] : names.map((n, i) => xs[n] ?? Object.values(xs)[i]!);
      names.forEach((n, i) => {
        const t = list[i]!;
        const d = t.dataSync();
        feeds[n] = { data: d instanceof Float32Array ? d : Float32Array.from(d), shape: t.shape };
      });
      const out = await session.run(feeds);
      const first = out[exported.outputs[0]!.name]!;
      return tf.tensor(first.data, first.shape);
    },
    dispose: () => session.dispose(),
  };
}

/**
 * Picks the engine for a loaded model: `tfjs` always works; `onnxruntime` needs onnxruntime-node installed
 * and a model the exporter can convert (else an error saying why, exit 2 in the CLI); `auto` takes
 * onnxruntime when both hold and says why when it falls back.
 */
export async function chooseEngine(
  model: tfl.LayersModel,
  order: (xs: Batch['xs']) => tf.Tensor | tf.Tensor[],
  choice: EngineChoice,
  options: { threads?: number } = {},
): Promise<Engine> {
  if (choice === 'tfjs') return tfjsEngine(model, order, 'asked for (--engine tfjs)');
  const available = await onnxRuntimeAvailable();
  if (!available) {
    if (choice === 'onnxruntime') {
      throw new TfpipeError('E_USAGE', '--engine onnxruntime: onnxruntime-node is not installed', { hint: ONNXRUNTIME_INSTALL_HINT });
    }
    return tfjsEngine(model, order, 'onnxruntime-node is not installed');
  }
  try {
    return await onnxEngine(model, choice === 'auto' ? 'onnxruntime-node is installed and the model exports to ONNX' : 'asked for (--engine onnxruntime)', options.threads);
  } catch (e) {
    if (choice === 'onnxruntime') throw e;
    return tfjsEngine(model, order, `the model does not export to ONNX: ${(e as Error).message}`);
  }
}

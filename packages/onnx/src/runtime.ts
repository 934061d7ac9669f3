import { TfpipeError } from '@tfpipe/core';

// The parts of onnxruntime-node we use (an optional peer: imported only when asked for).
interface OrtTensor {
  data: Float32Array | Int32Array | BigInt64Array;
  dims: readonly number[];
  dispose?(): void;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(pathOrBytes: string | Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

export const ONNXRUNTIME_INSTALL_HINT =
  'Install it next to tfpipe: `pnpm add onnxruntime-node` (its CPU runtime ships in the package; pnpm skips the install script that fetches optional CUDA files) or `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`.';

let loaded: Promise<Ort> | undefined;

/** onnxruntime-node, or an E_BACKEND error saying how to install it. */
export function loadOnnxRuntime(): Promise<Ort> {
  // TFPIPE_ONNXRUNTIME_MODULE names another module (a fork, or a missing one to try the fallback).
  loaded ??= import(process.env.TFPIPE_ONNXRUNTIME_MODULE || 'onnxruntime-node').then(
    (m: { default?: Ort } & Ort) => (m.InferenceSession ? m : (m.default as Ort)),
    (e: Error) => {
      loaded = undefined;
      throw new TfpipeError('E_BACKEND', `onnxruntime-node is not installed (${e.message.split('\n')[0]})`, { hint: ONNXRUNTIME_INSTALL_HINT, cause: e });
    },
  );
  return loaded;
}

/** True when onnxruntime-node can be imported. */
export async function onnxRuntimeAvailable(): Promise<boolean> {
  return loadOnnxRuntime().then(
    () => true,
    () => false,
  );
}

export interface OnnxRunOptions {
  /** Intra-op threads (default: onnxruntime's choice, all cores). */
  threads?: number;
}

/** An ONNX model in onnxruntime-node: float32 inputs by name, float32 outputs by name. */
export class OnnxModel {
  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
  ) {}

  static async load(pathOrBytes: string | Uint8Array, options: OnnxRunOptions = {}): Promise<OnnxModel> {
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(pathOrBytes, {
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
    return new OnnxModel(ort, session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; each input is its flat float32 data with its full shape (batch first). */
  async run(inputs: Record<string, { data: Float32Array; shape: readonly number[] }>): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
    const feeds: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = new this.ort.Tensor('float32', v.data, v.shape);
    const out = await this.session.run(feeds);
    const res: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, t] of Object.entries(out)) {
      res[k] = { data: t.data as Float32Array, shape: [...t.dims] };
      t.dispose?.();
    }
    return res;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MODEL_JSON, TfpipeError, fileSystemIO, writeJsonAtomic, type InputSpec, type TaskSpec } from '@tfpipe/core';
import { setWasmThreads, wasmThreadsFor } from '@tfpipe/backend-wasm';
import { registerCustomLayers } from '@tfpipe/models';
import { Preprocessor, Tensorizer } from '@tfpipe/preprocess';
import type { Row } from '@tfpipe/data';
import { createPipelineRegistries, loadPlugins } from '../config/registries.js';
import { type Engine, type EngineChoice, chooseEngine } from './engine.js';
import { modelInputs } from './inputs.js';

/** `model/metadata.json`: what a saved model expects and what it was trained for. */
export interface ModelMetadata {
  name: string;
  task: TaskSpec;
  inputs: InputSpec[];
  /** The raw columns a record must have (before preprocessing). */
  rawColumns: { name: string; kind: string; shape?: number[] }[];
  labels?: string[];
  metrics?: Record<string, number>;
  trainedAt: string;
  backend?: string;
  tfpipeVersion: string;
  /** The config's `plugins:` (absolute paths): loading the run loads them, for its registered transforms and layers. */
  plugins?: string[];
}

export const MODEL_FILES = { preprocess: 'preprocess.json', tensorizer: 'tensorizer.json', metadata: 'metadata.json' } as const;

/** Saves everything prediction needs: weights, topology, fitted preprocessing, label encoding, metadata. */
export async function saveModelDir(
  dir: string,
  parts: { model: tfl.LayersModel; preprocessor: Preprocessor; tensorizer: Tensorizer; metadata: ModelMetadata },
): Promise<void> {
  await parts.model.save(fileSystemIO(dir));
  await writeJsonAtomic(join(dir, MODEL_FILES.preprocess), parts.preprocessor.toJSON());
  await writeJsonAtomic(join(dir, MODEL_FILES.tensorizer), parts.tensorizer.toJSON());
  await writeJsonAtomic(join(dir, MODEL_FILES.metadata), parts.metadata);
}

/** A loaded run: the model plus the exact preprocessing it was trained with. */
export interface LoadedRun {
  dir: string;
  model: tfl.LayersModel;
  preprocessor: Preprocessor;
  tensorizer: Tensorizer;
  metadata: ModelMetadata;
  /** What computes the predictions (TF.js, or onnxruntime-node over the exported model) and why. */
  engine: Pick<Engine, 'name' | 'reason'>;
  /** Releases the model and the engine. */
  dispose(): Promise<void>;
  /** Raw records in, predictions out: the same path as evaluation. */
  predict(rows: Row[]): Promise<ReturnType<Tensorizer['decode']>>;
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Loads `<runDir>/model` (or a model folder given directly). */
/**
 * Picks the wasm backend's thread count for a saved model before the backend starts (see wasmThreadsFor):
 * every core for a convolutional model, one thread otherwise. TFPIPE_WASM_THREADS, when set, decides.
 */
export async function chooseWasmThreadsForRun(runDirOrModelDir: string): Promise<void> {
  if (process.env.TFPIPE_WASM_THREADS) return;
  const dir = existsSync(join(runDirOrModelDir, MODEL_JSON)) ? runDirOrModelDir : join(runDirOrModelDir, 'model');
  try {
    setWasmThreads(wasmThreadsFor(JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8'))));
  } catch {
    // No readable model.json: loadRun reports that with its own clear error; the default stays.
  }
}

export interface LoadRunOptions {
  /** Default tfjs (the same numbers as training and evaluation); `auto` prefers onnxruntime-node when installed. */
  engine?: EngineChoice;
  /** onnxruntime's intra-op threads (default: its own choice). */
  threads?: number;
}

export async function loadRun(runDirOrModelDir: string, options: LoadRunOptions = {}): Promise<LoadedRun> {
  // A run directory holds its model in model/; a model folder is accepted as it is.
  const dir = existsSync(join(runDirOrModelDir, MODEL_JSON)) ? runDirOrModelDir : join(runDirOrModelDir, 'model');
  registerCustomLayers();
  const metadata = await readJson<ModelMetadata>(join(dir, MODEL_FILES.metadata));
  // A run trained with plugins needs their transforms (and any layers they register) to load.
  const registries = metadata.plugins?.length ? createPipelineRegistries() : undefined;
  if (registries) await loadPlugins(metadata.plugins!, registries, { baseDir: dir });
  const model = await tfl.loadLayersModel(fileSystemIO(dir));
  const preprocessor = Preprocessor.fromJSON(await readJson(join(dir, MODEL_FILES.preprocess)), registries ? { registry: registries.transforms } : {});
  const tensorizer = Tensorizer.fromJSON(await readJson(join(dir, MODEL_FILES.tensorizer)));
  const engine = await chooseEngine(model, (xs) => modelInputs(model, xs), options.engine ?? 'tfjs', options.threads ? { threads: options.threads } : {});
  return assembleRun({ dir: runDirOrModelDir, model, preprocessor, tensorizer, metadata, engine });
}

/**
 * A `LoadedRun` from its loaded parts: raw records → the run's preprocessing → the engine → decoded
 * predictions (the same path as evaluation). Shared by `loadRun` and the server's validated loader.
 */
export function assembleRun(parts: Omit<LoadedRun, 'engine' | 'dispose' | 'predict'> & { engine: Engine }): LoadedRun {
  const { model, preprocessor, tensorizer, engine } = parts;
  return {
    dir: parts.dir,
    model,
    preprocessor,
    tensorizer,
    metadata: parts.metadata,
    engine: { name: engine.name, reason: engine.reason },
    async dispose() {
      await engine.dispose();
      model.dispose();
    },
    async predict(rows) {
      const transformed = rows.map((r) => preprocessor.transform(r));
      const batch = tensorizer.toBatch(transformed, { withLabels: false });
      try {
        const out = await engine.infer(batch.xs);
        try {
          return tensorizer.decode(out);
        } finally {
          out.dispose();
        }
      } finally {
        tf.dispose(batch.xs instanceof tf.Tensor ? batch.xs : Object.values(batch.xs));
      }
    },
  };
}

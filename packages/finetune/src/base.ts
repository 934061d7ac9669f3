import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystemIO, MODEL_JSON, TfpipeError } from '@tfpipe/core';
import { registerCustomLayers } from '@tfpipe/models';
import { registerFinetuneLayers } from './lora/layers.js';

/** The starting point of a fine-tune: the model, and for a tfpipe run its preprocessing state (raw JSON). */
export interface LoadedBase {
  /** The folder model.json was read from. */
  dir: string;
  model: tfl.LayersModel;
  /** `preprocess.json` of a tfpipe run, unparsed (the pipeline's Preprocessor.fromJSON reads it). */
  preprocess?: unknown;
  /** `tensorizer.json` of a tfpipe run, unparsed. */
  tensorizer?: unknown;
  /** `metadata.json` of a tfpipe run, unparsed. */
  metadata?: unknown;
  /** The model files, to build more copies (`loadModelCopy`). */
  artifacts: tf.io.ModelArtifacts;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readOptionalJson(path: string): Promise<unknown> {
  if (!(await isFile(path))) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Where model.json is: `<path>/model.json`, `<path>/model/model.json` (a run directory), or the file itself. */
export async function findModelDir(base: string, baseDir = '.', path: (string | number)[] = ['finetune', 'base']): Promise<string> {
  const abs = isAbsolute(base) ? base : resolve(baseDir, base);
  if (abs.endsWith('.json') && (await isFile(abs))) return dirname(abs);
  for (const dir of [abs, join(abs, 'model')]) if (await isFile(join(dir, MODEL_JSON))) return dir;
  throw TfpipeError.fromIssues([
    {
      path,
      message: `no ${MODEL_JSON} at ${join(abs, MODEL_JSON)} nor ${join(abs, 'model', MODEL_JSON)}`,
      received: base,
      expected: 'a tfpipe run directory, a model folder, or a TF.js layers model.json',
    },
  ]);
}

/** A new, independent model from loaded files (its own variables). */
export async function loadModelCopy(artifacts: tf.io.ModelArtifacts): Promise<tfl.LayersModel> {
  registerCustomLayers();
  registerFinetuneLayers();
  return tfl.loadLayersModel({ load: async () => artifacts });
}

/**
 * Loads the base model of a fine-tune: a tfpipe run directory (`<run>/model/` with preprocess.json,
 * tensorizer.json, metadata.json, returned raw), a model folder, or any TF.js layers model folder.
 */
export async function loadBase(base: string, options: { baseDir?: string; path?: (string | number)[] } = {}): Promise<LoadedBase> {
  const dir = await findModelDir(base, options.baseDir, options.path);
  const artifacts = await fileSystemIO(dir).load!();
  if (artifacts.format !== undefined && artifacts.format !== 'layers-model') {
    throw new TfpipeError('E_MODEL', `${join(dir, MODEL_JSON)} is a ${artifacts.format}; fine-tuning needs a TF.js layers model`, {
      path: options.path ?? ['finetune', 'base'],
    });
  }
  let model: tfl.LayersModel;
  try {
    model = await loadModelCopy(artifacts);
  } catch (e) {
    throw new TfpipeError('E_MODEL', `cannot load the model in ${dir}: ${(e as Error).message}`, {
      path: options.path ?? ['finetune', 'base'],
      cause: e,
    });
  }
  const [preprocess, tensorizer, metadata] = await Promise.all(
    ['preprocess.json', 'tensorizer.json', 'metadata.json'].map((f) => readOptionalJson(join(dir, f))),
  );
  return {
    dir,
    model,
    artifacts,
    ...(preprocess !== undefined ? { preprocess } : {}),
    ...(tensorizer !== undefined ? { tensorizer } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { registerCustomLayers } from '@tfpipe/models';
import { type EngineChoice, type LoadedRun, assembleRun, chooseEngine, modelInputs } from '@tfpipe/pipeline';
import { Preprocessor, Tensorizer } from '@tfpipe/preprocess';
import { readRunFiles, type RunFiles } from './run-files.js';

function rebuild<T>(file: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new TfpipeError('E_MODEL', `${file} is not valid: ${(e as Error).message}`, { path: [file], cause: e });
  }
}

/** Builds the model from validated files; anything it made is disposed when a step fails. */
async function buildModel(files: RunFiles): Promise<tfl.LayersModel> {
  registerCustomLayers();
  const shown = files.modelDir === files.dir ? 'model.json' : 'model/model.json';
  let model: tfl.LayersModel;
  try {
    const topology = files.modelJson.modelTopology;
    model = await tfl.models.modelFromJSON({ modelTopology: (topology.model_config ?? topology) as tf.io.ModelJSON['modelTopology'] } as tfl.ModelAndWeightsConfig);
  } catch (e) {
    throw new TfpipeError('E_MODEL', `${shown}: the model topology cannot be built: ${(e as Error).message}`, { path: [shown], cause: e });
  }
  let named: tf.NamedTensorMap | undefined;
  try {
    const specs = files.modelJson.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
    named = tf.io.decodeWeights(files.weightData, specs);
    const modelWeights = Object.fromEntries(specs.filter((s) => s.group !== 'optimizer').map((s) => [s.name, named![s.name]!]));
    model.loadWeights(modelWeights, true);
    return model;
  } catch (e) {
    model.dispose();
    throw new TfpipeError('E_MODEL', `${shown}: the weights do not fit the model: ${(e as Error).message}`, { path: [shown], cause: e });
  } finally {
    if (named) tf.dispose(Object.values(named));
  }
}

/**
 * Loads a run for serving: every file validated first (see readRunFiles), the preprocessing and label
 * encoding rebuilt before any tensor exists, then the model; a failure at any step leaves no tensor behind.
 * Gives the same `LoadedRun` as `loadRun` from @tfpipe/pipeline.
 */
export async function loadServedRun(dir: string, options: { engine?: EngineChoice } = {}): Promise<LoadedRun> {
  const files = await readRunFiles(dir);
  const at = (f: string) => (files.modelDir === files.dir ? f : `model/${f}`);
  const preprocessor = rebuild(at('preprocess.json'), () => Preprocessor.fromJSON(files.preprocess));
  const tensorizer = rebuild(at('tensorizer.json'), () => Tensorizer.fromJSON(files.tensorizer));
  const model = await buildModel(files);
  const { metadata } = files;
  let engine: Awaited<ReturnType<typeof chooseEngine>>;
  try {
    engine = await chooseEngine(model, (xs) => modelInputs(model, xs), options.engine ?? 'tfjs');
  } catch (e) {
    model.dispose();
    throw e;
  }
  return assembleRun({ dir, model, preprocessor, tensorizer, metadata, engine });
}

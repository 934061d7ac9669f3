import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystemIO } from '@tfpipe/core';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { expect } from 'vitest';
import { buildModel, modelLosses, registerCustomLayers } from '../index.js';
import { type ContractCase, makeXs, makeYs } from './cases.js';

/** Build → compile (adam + default loss) → one training step → save → load → same predictions; disposes all. */
export async function contractCycle(c: ContractCase, modelDir: string): Promise<void> {
  const model = buildModel(c.config, { inputs: c.inputs, task: c.task, seed: 42 });
  expect(model.inputNames).toEqual(c.inputs.map((i) => i.name));
  const { loss, lossWeights } = modelLosses(c.config, { task: c.task });
  model.compile({ optimizer: tf.train.adam(0.01), loss, ...(lossWeights ? { lossWeights } : {}) });
  const xs = makeXs(c.inputs, 4, 1);
  const xList = c.inputs.map((i) => xs[i.name]!);
  const outputNames = model.outputNames;
  const ys =
    typeof loss === 'string'
      ? makeYs(c.task, 4, 2)
      : Object.fromEntries(
          outputNames.map((n, i) => [
            n,
            makeYs(
              (c.config as { outputs: Record<string, { task: typeof c.task }> }).outputs[n]!.task,
              4,
              3 + i,
            ),
          ]),
        );
  const before = model.predict(xList) as tf.Tensor | tf.Tensor[];
  const history = await model.fit(xs, ys, { batchSize: 4, epochs: 1, verbose: 0 });
  expect(Number.isFinite(history.history.loss![0] as number)).toBe(true);
  const after = model.predict(xList) as tf.Tensor | tf.Tensor[];
  // One adam step moved the weights.
  const beforeList = Array.isArray(before) ? before : [before];
  const afterList = Array.isArray(after) ? after : [after];
  expect(
    beforeList.some((b, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(b, afterList[i]!))).dataSync()[0]!) > 0),
  ).toBe(true);
  await model.save(fileSystemIO(modelDir));
  registerCustomLayers();
  const loaded = await tfl.loadLayersModel(fileSystemIO(modelDir));
  const again = loaded.predict(xList) as tf.Tensor | tf.Tensor[];
  const againList = Array.isArray(again) ? again : [again];
  expect(againList.length).toBe(afterList.length);
  for (const [i, a] of afterList.entries()) expectTensorsClose(againList[i]!, a, 1e-5, 1e-5);
  tf.dispose([
    ...beforeList,
    ...afterList,
    ...againList,
    ...Object.values(xs),
    ...(ys instanceof tf.Tensor ? [ys] : Object.values(ys)),
  ]);
  model.optimizer.dispose();
  model.dispose();
  loaded.dispose();
}

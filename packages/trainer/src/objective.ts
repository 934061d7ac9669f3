import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Issue, type TaskSpec, TfpipeError, defaultLossForTask, didYouMean } from '@tfpipe/core';
import { outputNamesOf } from './batch.js';
import { LOSS_NAMES, type LossFn, type LossName, checkLossName, perSampleLoss, sparseToOneHot } from './losses.js';
import type { TrainConfig } from './schema.js';

/** The default loss of a task (the rule lives in @tfpipe/core, shared with the model builders). */
export { defaultLossForTask };

interface OutputLoss {
  name: string;
  loss: LossName | LossFn;
  weight: number;
}

interface Penalty {
  variable: tf.Variable;
  l1: number;
  l2: number;
}

/**
 * The training objective, resolved once per fit: one loss per model output with its weight, label
 * smoothing, class weights, the model's own regularization losses and the trainer's L1/L2 penalties.
 * Owns one small tensor (the class weights); call `dispose()`.
 */
export class Objective {
  readonly outputs: OutputLoss[];
  /** The model's output names, in order. */
  readonly names: string[];
  private readonly penalties: Penalty[];
  private readonly classWeights: tf.Tensor1D | undefined;
  private readonly binaryClassWeights: boolean;

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly config: TrainConfig,
    task: TaskSpec | undefined,
  ) {
    const names = outputNamesOf(model);
    this.names = names;
    const lossCfg = config.loss ?? (task ? defaultLossForTask(task) : undefined);
    if (lossCfg === undefined) {
      throw TfpipeError.fromIssues([{ path: ['train', 'loss'], message: 'no loss: set train.loss or pass the task', expected: LOSS_NAMES.join(' | ') }]);
    }
    const issues: Issue[] = [];
    for (const k of Object.keys(config.lossWeights ?? {})) {
      if (!names.includes(k)) issues.push(unknownName(['train', 'lossWeights', k], k, names, 'model output'));
    }
    if (typeof lossCfg === 'object') {
      for (const k of Object.keys(lossCfg)) if (!names.includes(k)) issues.push(unknownName(['train', 'loss', k], k, names, 'model output'));
      for (const n of names) {
        if (!(n in lossCfg)) issues.push({ path: ['train', 'loss'], message: `no loss for the model output "${n}"`, expected: `a loss for each of ${names.join(', ')}` });
      }
    }
    if (issues.length) throw TfpipeError.fromIssues(issues);
    this.outputs = names.map((name) => {
      const l = typeof lossCfg === 'function' ? lossCfg : typeof lossCfg === 'string' ? lossCfg : lossCfg[name]!;
      const loss = typeof l === 'function' ? l : checkLossName(l, typeof lossCfg === 'object' ? ['train', 'loss', name] : ['train', 'loss']);
      return { name, loss, weight: config.lossWeights?.[name] ?? 1 };
    });
    if (config.labelSmoothing > 0) {
      const bad = this.outputs.find((o) => typeof o.loss === 'function' || !o.loss.includes('rossentropy'));
      if (bad) {
        throw TfpipeError.fromIssues([
          {
            path: ['train', 'labelSmoothing'],
            message: `applies to cross-entropy losses; output "${bad.name}" uses ${typeof bad.loss === 'function' ? 'a custom function' : bad.loss}`,
            received: config.labelSmoothing,
            expected: '0',
          },
        ]);
      }
    }
    this.penalties = penaltiesOf(model, config);
    const cw = classWeightVector(model, config, task, this.outputs);
    this.classWeights = cw?.vector;
    this.binaryClassWeights = cw?.binary ?? false;
  }

  /** Data loss (weighted mean over the batch, summed over outputs with their weights), shape []. */
  dataLoss(preds: tf.Tensor[], targets: tf.Tensor[], sampleWeight?: tf.Tensor, withClassWeights = true): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Tensor = tf.scalar(0);
      this.outputs.forEach((o, i) => {
        const yPred = preds[i]!;
        const yTrue = targets[i]!;
        const l = typeof o.loss === 'function' ? o.loss(yTrue, yPred) : perSampleLoss(o.loss, yTrue, yPred, this.config.labelSmoothing);
        let w: tf.Tensor | undefined = sampleWeight ? tf.reshape(sampleWeight, [-1]) : undefined;
        if (withClassWeights && this.classWeights && i === 0) {
          const cw = this.sampleClassWeights(yTrue, o.loss as LossName);
          w = w ? tf.mul(w, cw) : cw;
        }
        if (w && l.rank === 0) {
          throw new TfpipeError('E_TRAIN', `the loss of output "${o.name}" returned a scalar; sample/class weights need per-sample values [batch]`);
        }
        const perSample = l.rank > 1 ? tf.mean(tf.reshape(l, [l.shape[0]!, -1]), 1) : l;
        const term = w ? tf.mean(tf.mul(perSample, w)) : tf.mean(perSample);
        total = tf.add(total, tf.mul(term, o.weight));
      });
      return total as tf.Scalar;
    });
  }

  /** The model's own regularization losses (kernel regularizers) plus the trainer's L1/L2, shape []. */
  regularization(): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Tensor = tf.scalar(0);
      // Layer by layer: a Sequential's own calculateLosses() finds no layers until it is compiled.
      for (const layer of this.model.layers) for (const r of layer.calculateLosses()) total = tf.add(total, r);
      for (const p of this.penalties) {
        if (p.l1 > 0) total = tf.add(total, tf.mul(p.l1, tf.sum(tf.abs(p.variable))));
        if (p.l2 > 0) total = tf.add(total, tf.mul(p.l2, tf.sum(tf.square(p.variable))));
      }
      return total as tf.Scalar;
    });
  }

  /** Everything that is minimised. */
  total(preds: tf.Tensor[], targets: tf.Tensor[], sampleWeight?: tf.Tensor): tf.Scalar {
    return tf.tidy(() => tf.add(this.dataLoss(preds, targets, sampleWeight), this.regularization()) as tf.Scalar);
  }

  dispose(): void {
    this.classWeights?.dispose();
  }

  private sampleClassWeights(yTrue: tf.Tensor, loss: LossName): tf.Tensor {
    const cw = this.classWeights!;
    if (this.binaryClassWeights) {
      const y = tf.reshape(tf.cast(yTrue, 'float32'), [-1]);
      return tf.add(tf.mul(y, tf.slice(cw, 1, 1)), tf.mul(tf.sub(1, y), tf.slice(cw, 0, 1)));
    }
    const oneHot = loss === 'sparseCategoricalCrossentropy' ? sparseToOneHot(yTrue, cw.shape[0]) : tf.cast(yTrue, 'float32');
    return tf.sum(tf.mul(oneHot, cw), -1);
  }
}

function unknownName(path: (string | number)[], received: string, known: readonly string[], what: string): Issue {
  const suggestion = didYouMean(received, known);
  return { path, message: `unknown ${what}`, received, expected: known.map((k) => JSON.stringify(k)).join(' | '), ...(suggestion ? { suggestion } : {}) };
}

function penaltiesOf(model: tfl.LayersModel, config: TrainConfig): Penalty[] {
  const r = config.regularization;
  if (!r) return [];
  const layerNames = model.layers.map((l) => l.name);
  const issues = Object.keys(r.layers ?? {})
    .filter((n) => !layerNames.includes(n))
    .map((n) => unknownName(['train', 'regularization', 'layers', n], n, layerNames, 'layer'));
  if (issues.length) throw TfpipeError.fromIssues(issues);
  const out: Penalty[] = [];
  for (const layer of model.layers) {
    const f = r.layers?.[layer.name] ?? r;
    if (f.l1 === 0 && f.l2 === 0) continue;
    // Kernels and embeddings (rank >= 2), not biases or normalisation scales: decided by shape, not name.
    for (const w of layer.trainableWeights) if (w.shape.length >= 2) out.push({ variable: w.read() as tf.Variable, l1: f.l1, l2: f.l2 });
  }
  return out;
}

function classWeightVector(
  model: tfl.LayersModel,
  config: TrainConfig,
  task: TaskSpec | undefined,
  outputs: OutputLoss[],
): { vector: tf.Tensor1D; binary: boolean } | undefined {
  const cw = config.classWeight;
  if (!cw) return undefined;
  const path = ['train', 'classWeight'];
  const loss = outputs[0]!.loss;
  if (outputs.length !== 1 || typeof loss === 'function' || !['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy'].includes(loss)) {
    throw TfpipeError.fromIssues([
      { path, message: 'class weights need a single-output model trained with a (sparse) categorical or binary cross-entropy', received: cw },
    ]);
  }
  const units = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] ?? 1;
  const binary = loss === 'binaryCrossentropy';
  if (binary && units !== 1) {
    throw TfpipeError.fromIssues([{ path, message: `binary class weights need one sigmoid output unit; the model has ${units} (multilabel)`, received: cw }]);
  }
  const classes = binary ? 2 : units;
  const labels = task && 'labels' in task ? task.labels : undefined;
  const values = new Array<number>(classes).fill(1);
  const issues: Issue[] = [];
  for (const [k, v] of Object.entries(cw)) {
    let idx = /^\d+$/.test(k) ? Number(k) : (labels?.indexOf(k) ?? -1);
    if (idx >= classes) idx = -1;
    if (idx < 0) {
      const known = [...Array.from({ length: classes }, (_, i) => String(i)), ...(labels ?? [])];
      issues.push(unknownName([...path, k], k, known, 'class'));
    } else values[idx] = v;
  }
  if (issues.length) throw TfpipeError.fromIssues(issues);
  return { vector: tf.tensor1d(values), binary };
}

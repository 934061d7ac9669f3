import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, createRng, parseSection, TfpipeError, type Tensors } from '@tfpipe/core';
import { type AttackConfig, type AttackLossName, createAttack, robustAccuracy, type RobustAccuracy } from '@tfpipe/evaluate';
import { z } from 'zod';

/** `train.adversarial`: train on adversarial examples made on the fly (Goodfellow et al. 2015; Madry et al. 2018). */
export const adversarialSchema = z
  .object({
    attack: z.enum(['fgsm', 'pgd']).default('fgsm').describe('How adversarial examples are made'),
    epsilon: z.number().min(0).describe('L-infinity radius of the perturbation, in input units (0..1 for scaled images)'),
    ratio: z.number().gt(0).max(1).default(0.5).describe('Share of each batch replaced by its adversarial version (seeded choice of rows)'),
    steps: z.number().int().min(1).default(7).describe('PGD steps'),
    stepSize: z.number().positive().optional().describe('PGD step; default 2.5 * epsilon / steps'),
    clipMin: z.number().default(0).describe('Smallest valid input value'),
    clipMax: z.number().default(1).describe('Largest valid input value'),
    loss: z.enum(['categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError']).optional().describe('Loss to ascend (default from the target shape)'),
    seed: z.number().int().default(0).describe('Seeds the choice of rows and the PGD random starts'),
  })
  .strict()
  .describe('Adversarial training');
export type AdversarialConfig = z.infer<typeof adversarialSchema>;
export type AdversarialInput = z.input<typeof adversarialSchema>;

/** The evaluate package's attack config for an adversarial config (seed fixed per call by the caller). */
export function attackConfig(c: AdversarialConfig, seed = c.seed): AttackConfig {
  const common = { epsilon: c.epsilon, clipMin: c.clipMin, clipMax: c.clipMax, ...(c.loss ? { loss: c.loss as AttackLossName } : {}) };
  return c.attack === 'fgsm' ? { type: 'fgsm', ...common } : { type: 'pgd', ...common, steps: c.steps, seed, ...(c.stepSize !== undefined ? { stepSize: c.stepSize } : {}) };
}

function single(t: Tensors, what: string): { tensor: tf.Tensor; key?: string } {
  if (t instanceof tf.Tensor) return { tensor: t };
  const keys = Object.keys(t);
  if (keys.length === 1) return { tensor: t[keys[0]!]!, key: keys[0]! };
  throw new TfpipeError('E_CONFIG', `adversarial training needs one input and one target; ${what} has ${keys.join(', ')}`, { path: ['train', 'adversarial'] });
}

/**
 * The trainer's `perturb` hook: in each batch, a seeded `ratio` of the rows is replaced by its FGSM/PGD
 * version against the current model (inference mode); the targets stay. Use with perturbMode 'replace'
 * (the default). Inputs must be float (images, tabular); token ids cannot be perturbed.
 */
export function createPerturb(config: AdversarialInput, options: { seed?: number } = {}): (batch: Batch, model: tfl.LayersModel) => Batch {
  const c = parseSection(adversarialSchema, config, ['train', 'adversarial']);
  const rng = createRng(options.seed ?? c.seed);
  return (batch, model) => {
    const x = single(batch.xs, 'the batch input');
    const y = single(batch.ys, 'the batch target');
    if (x.tensor.dtype !== 'float32') {
      throw new TfpipeError('E_CONFIG', `adversarial training perturbs float inputs; this input is ${x.tensor.dtype} (token ids?)`, { path: ['train', 'adversarial'] });
    }
    const n = x.tensor.shape[0]!;
    const k = Math.round(c.ratio * n);
    if (k === 0) return batch;
    const attack = createAttack(attackConfig(c, rng.seed32()));
    const rows = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, k);
    const xs = tf.tidy(() => {
      if (k === n) return attack(model, x.tensor, y.tensor);
      const idx = tf.tensor1d(rows, 'int32');
      const adv = attack(model, tf.gather(x.tensor, idx), tf.gather(y.tensor, idx));
      const mask = new Float32Array(n);
      for (const r of rows) mask[r] = 1;
      // Scatter the adversarial rows back in place: rows not chosen keep their clean value.
      const full = tf.scatterND(tf.reshape(idx, [k, 1]), adv, x.tensor.shape);
      const m = tf.reshape(tf.tensor1d(mask), [n, ...x.tensor.shape.slice(1).map(() => 1)]);
      return tf.add(tf.mul(x.tensor, tf.sub(1, m)), tf.mul(full, m));
    });
    return { ...batch, xs: x.key === undefined ? xs : { [x.key]: xs } };
  };
}

/** Clean and adversarial accuracy of a model on the same batches (evaluate's robustAccuracy). */
export async function evaluateRobustness(
  model: tfl.LayersModel,
  data: () => AsyncIterable<Batch>,
  config: AdversarialInput,
): Promise<RobustAccuracy & { attack: AttackConfig }> {
  const c = parseSection(adversarialSchema, config, ['evaluate', 'robust']);
  const attack = attackConfig(c);
  return { ...(await robustAccuracy(model, data, attack)), attack };
}

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Callback } from '@tfpipe/trainer';
import { z } from 'zod';
import { modelLayers } from './freeze.js';
import { matchNames } from './patterns.js';

/** `finetune.layerLearningRates`: discriminative learning rates per layer group. */
export const layerLearningRatesSchema = z
  .array(
    z
      .object({
        pattern: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Glob(s) or /regex/ over layer names'),
        multiplier: z.number().min(0).describe('Learning rate of these layers = multiplier x the stage learning rate'),
      })
      .strict(),
  )
  .default([])
  .describe('Per layer group learning-rate multipliers; the first rule that matches a layer wins');
export type LayerLearningRates = z.infer<typeof layerLearningRatesSchema>;

/** Multiplier per layer name (only layers that differ from 1). Every pattern must match a layer. */
export function resolveLayerMultipliers(model: tfl.LayersModel, rules: LayerLearningRates, path: (string | number)[] = ['finetune', 'layerLearningRates']): Map<string, number> {
  const names = modelLayers(model).map((l) => l.name);
  const out = new Map<string, number>();
  rules.forEach((rule, i) => {
    for (const n of matchNames(names, rule.pattern, { path: [...path, i, 'pattern'] })) if (!out.has(n)) out.set(n, rule.multiplier);
  });
  for (const [n, m] of out) if (m === 1) out.delete(n);
  return out;
}

/**
 * Scales each optimizer update of some variables: after a step, w = w_before + m · (w_after − w_before).
 * For every optimizer whose step is linear in the learning rate (SGD, momentum, Adam, AdamW, RMSProp,
 * Adagrad) this is exactly training those variables with learning rate m · lr. The trainer has one learning
 * rate, so this runs around its steps as a callback (`layerLearningRateCallback`): `beforeStep()` in
 * onBatchBegin snapshots, `flush()` in onBatchEnd scales the update just applied.
 */
export class UpdateScaler {
  private snapshot: tf.Tensor[] | undefined;
  constructor(private readonly entries: readonly { variable: tf.Variable; multiplier: number }[]) {}

  /** Trainable variables of the layers with a multiplier. */
  static forModel(model: tfl.LayersModel, multipliers: ReadonlyMap<string, number>): UpdateScaler {
    const entries = [...multipliers].flatMap(([name, multiplier]) =>
      model.getLayer(name).trainableWeights.map((w) => ({ variable: w.read() as tf.Variable, multiplier })),
    );
    return new UpdateScaler(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  beforeStep(): void {
    this.flush();
    if (this.entries.length) this.snapshot = this.entries.map((e) => tf.clone(e.variable));
  }

  flush(): void {
    const snap = this.snapshot;
    if (!snap) return;
    this.snapshot = undefined;
    tf.tidy(() => {
      this.entries.forEach((e, i) => {
        const before = snap[i]!;
        e.variable.assign(tf.add(before, tf.mul(tf.sub(e.variable, before), e.multiplier)));
      });
    });
    tf.dispose(snap);
  }

  dispose(): void {
    tf.dispose(this.snapshot);
    this.snapshot = undefined;
  }
}

/** Per-layer learning rates as a trainer callback: snapshot before each step, scale its update right after. */
export function layerLearningRateCallback(scaler: UpdateScaler): Callback {
  return {
    name: 'layer-lr',
    onBatchBegin: () => scaler.beforeStep(),
    onBatchEnd: () => scaler.flush(),
    // A step that failed half-way leaves its snapshot: drop it without touching the weights.
    dispose: () => scaler.dispose(),
  };
}

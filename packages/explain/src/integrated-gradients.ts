import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { type BaselineOptions, baselineFor } from './baselines.js';
import {
  type Explainable,
  type Forward,
  forwardOf,
  type Inputs,
  isIntInput,
  namedInputs,
  pickTarget,
  resolveTargets,
  rowOf,
  type TargetOptions,
  tileRows,
} from './forward.js';
import { captureLayerOutputs, embeddingFor, findLayer, withLayerOutputs } from './hooks.js';
import { type IntegrationMethod, quadrature } from './quadrature.js';

export interface IntegratedGradientsOptions extends TargetOptions, BaselineOptions {
  /** Points on the path from the baseline to the input. */
  steps?: number;
  /** gauss-legendre (default) or a Riemann sum (left, right, middle, trapezoid). */
  method?: IntegrationMethod;
  /** How many path points go through the model at once (memory bound). Default: all steps. */
  internalBatchSize?: number;
  /**
   * Token-id inputs are explained through a layer's output (their embedding, found automatically); name another
   * layer per input here. The baseline there is the layer's output for an all-padding (id 0) sequence.
   */
  layers?: Record<string, string>;
  /**
   * Baseline of token inputs at their layer: `zeros` (default) a zero vector per token; `pad` the layer's output for
   * an all-padding sequence (id 0). A masked padding embedding is never trained, so `pad` is an arbitrary point
   * for models with `maskZero`.
   */
  tokenBaseline?: 'pad' | 'zeros';
}

/** Attributions, one tensor per input of the same shape (token inputs: one value per token), plus checks. */
export interface Attributions {
  /** Per input name; the caller disposes them (`disposeAttributions`). */
  attributions: Record<string, tf.Tensor>;
  /** The explained class per example. */
  targets: number[];
  /** f(x) per example: the explained output. */
  outputs: number[];
  /** f(baseline) per example. */
  baselineOutputs: number[];
  /** |Σ attributions − (f(x) − f(baseline))| per example (completeness, absolute). */
  delta: number[];
  /** delta / |f(x) − f(baseline)| per example (completeness, relative; 0 when both are 0). */
  gap: number[];
}

/** Disposes every tensor of an attribution result. */
export function disposeAttributions(a: { attributions: Record<string, tf.Tensor> }): void {
  for (const t of Object.values(a.attributions)) t.dispose();
}

/** Where an input is differentiated: at the input itself (floats) or at a layer's output (token ids). */
interface Point {
  name: string;
  layer?: tfl.layers.Layer;
}

function pointsOf(forward: Forward, inputs: Record<string, tf.Tensor>, layers?: Record<string, string>): Point[] {
  return Object.entries(inputs).map(([name, t]) => {
    const layerName = layers?.[name];
    if (layerName !== undefined || isIntInput(t)) {
      if (!forward.model) {
        throw new TfpipeError('E_USAGE', `explain: input "${name}" holds token ids; explaining it needs a tfjs-layers model`);
      }
      return {
        name,
        layer: layerName !== undefined ? findLayer(forward.model, layerName) : embeddingFor(forward.model, name),
      };
    }
    return { name };
  });
}

/**
 * Integrated gradients (Sundararajan et al. 2017): (x − x′) · ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα, per input, for the
 * target output. The completeness gap |Σ attributions − (f(x) − f(x′))| says how well the integral was approximated.
 */
export function integratedGradients(
  model: Explainable,
  x: Inputs,
  options: IntegratedGradientsOptions = {},
): Attributions {
  const forward = forwardOf(model, options.output, options.logits);
  const inputs = namedInputs(forward, x);
  const targets = resolveTargets(forward, inputs, options.target);
  const points = pointsOf(forward, inputs, options.layers);
  const steps = options.steps ?? 50;
  const { alphas, weights } = quadrature(options.method ?? 'gauss-legendre', steps);
  const chunk = Math.max(1, Math.min(options.internalBatchSize ?? steps, steps));

  const baselines: Record<string, tf.Tensor> = {};
  for (const p of points) {
    if (!p.layer) baselines[p.name] = baselineFor(p.name, inputs[p.name]!, options);
  }
  const perExample: Record<string, tf.Tensor[]> = Object.fromEntries(points.map((p) => [p.name, []]));
  const outputs: number[] = [];
  const baselineOutputs: number[] = [];
  const delta: number[] = [];
  const gap: number[] = [];
  const layerList = points.flatMap((p) => (p.layer ? [p.layer] : []));
  try {
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const xi = rowOf(inputs, i);
      const target = targets[i]!;
      // Start and end of the path at every point: inputs, or layer outputs for the token inputs.
      const start: tf.Tensor[] = [];
      const end: tf.Tensor[] = [];
      const captured = layerList.length
        ? captureLayerOutputs(layerList, () => tf.tidy(() => forward.run(xi)), tf.keep)
        : undefined;
      captured?.result.dispose();
      const zeroIds: Record<string, tf.Tensor> = { ...xi };
      for (const p of points) if (p.layer) zeroIds[p.name] = tf.zerosLike(xi[p.name]!);
      const capturedBase = layerList.length
        ? captureLayerOutputs(layerList, () => tf.tidy(() => forward.run(zeroIds)), tf.keep)
        : undefined;
      capturedBase?.result.dispose();
      let li = 0;
      for (const p of points) {
        if (p.layer) {
          end.push(captured!.outputs[li]!);
          const base = capturedBase!.outputs[li]!;
          if (options.tokenBaseline !== 'pad') {
            start.push(tf.zerosLike(base));
            base.dispose();
          } else start.push(base);
          li++;
        } else {
          end.push(xi[p.name]!);
          start.push(tf.slice(baselines[p.name]!, i, 1));
        }
      }

      // f along the path: float inputs are fed, layer points replace their layer's output.
      const f = (values: tf.Tensor[], m: number): tf.Tensor1D => {
        const fed: Record<string, tf.Tensor> = {};
        const layerValues: tf.Tensor[] = [];
        points.forEach((p, j) => {
          if (p.layer) {
            fed[p.name] = tileRows(xi[p.name]!, m);
            layerValues.push(values[j]!);
          } else fed[p.name] = values[j]!;
        });
        return withLayerOutputs(layerList, layerValues, () =>
          pickTarget(forward.run(fed), new Array<number>(m).fill(target)),
        );
      };

      const sums = start.map((s) => tf.zerosLike(s));
      for (let c = 0; c < steps; c += chunk) {
        const a = alphas.slice(c, c + chunk);
        const w = weights.slice(c, c + chunk);
        const m = a.length;
        const grads = tf.tidy(() => {
          const path = start.map((s, j) => {
            const alpha = tf.reshape(tf.tensor1d(a), [m, ...new Array(s.rank - 1).fill(1)]);
            return tf.add(tileRows(s, m), tf.mul(alpha, tf.sub(end[j]!, s)));
          });
          const wt = tf.tensor1d(w);
          const g = tf.grads((...values: tf.Tensor[]) => tf.sum(tf.mul(f(values, m), wt)))(path);
          return g.map((gj) => tf.sum(gj, 0, true));
        });
        grads.forEach((g, j) => {
          const next = tf.add(sums[j]!, g);
          sums[j]!.dispose();
          g.dispose();
          sums[j] = next;
        });
      }

      const [fb, fx] = tf.tidy(() => {
        const fxT = f(end, 1);
        const fbT = f(start, 1);
        return [fbT.dataSync()[0]!, fxT.dataSync()[0]!];
      });
      let total = 0;
      points.forEach((p, j) => {
        const attr = tf.tidy(() => {
          const full = tf.mul(tf.sub(end[j]!, start[j]!), sums[j]!);
          total += tf.sum(full).dataSync()[0]!;
          // A layer point (embedding [1, seq, dim]) sums over its features: one value per token.
          return p.layer ? tf.sum(full, -1) : full;
        });
        perExample[p.name]!.push(attr);
      });
      const d = Math.abs(total - (fx - fb));
      outputs.push(fx);
      baselineOutputs.push(fb);
      delta.push(d);
      gap.push(d === 0 ? 0 : d / Math.abs(fx - fb));

      tf.dispose(sums);
      points.forEach((p, j) => {
        if (p.layer) {
          end[j]!.dispose();
          start[j]!.dispose();
          zeroIds[p.name]!.dispose();
        } else start[j]!.dispose();
      });
      tf.dispose(Object.values(xi));
    }
  } catch (e) {
    for (const list of Object.values(perExample)) tf.dispose(list);
    throw e;
  } finally {
    tf.dispose(Object.values(baselines));
  }
  const attributions: Record<string, tf.Tensor> = {};
  for (const [name, list] of Object.entries(perExample)) {
    attributions[name] = list.length === 1 ? list[0]! : tf.concat(list, 0);
    if (list.length > 1) tf.dispose(list);
  }
  return { attributions, targets, outputs, baselineOutputs, delta, gap };
}

// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { registerWasmTrainingKernels } from './register.js';
import { simdKernelsFallbackReason } from './simd/instance.js';

registerWasmTrainingKernels();

/** Deterministic float32 values in [-1, 1) (an LCG, so both backends see the same numbers). */
export function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Runs `fn` on cpu and on wasm and returns the plain values of each result. */
export async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[]; shapes: number[][] }> {
  const run = async (backend: string) => {
    // A backend that failed to start leaves the previous one active: then "wasm matches cpu" would compare cpu
    // with cpu. Fail instead.
    if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
      throw new Error(`could not switch to the ${backend} backend (active: ${tf.getBackend()})`);
    }
    return tf.tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
  };
  const c = await run('cpu');
  const cpu = c.map((t) => Float32Array.from(t.dataSync()));
  const shapes = c.map((t) => t.shape);
  tf.dispose(c);
  const w = await run('wasm');
  const wasm = w.map((t) => Float32Array.from(t.dataSync()));
  // Our SIMD kernels must have been the ones under test, not their JavaScript fallbacks.
  const simdFallback = simdKernelsFallbackReason();
  if (simdFallback) throw new Error(`the SIMD kernels fell back to JavaScript: ${simdFallback}`);
  w.forEach((t, i) => {
    if (t.shape.join() !== shapes[i]!.join()) throw new Error(`shape ${i}: wasm [${t.shape}] vs cpu [${shapes[i]}]`);
  });
  tf.dispose(w);
  return { cpu, wasm, shapes };
}

/** Asserts wasm matches cpu for every output of `fn` (value and gradients). */
export async function expectSameOnBoth(fn: () => tf.Tensor | tf.Tensor[], atol = 1e-4, rtol = 1e-4): Promise<void> {
  const { cpu, wasm } = await onBoth(fn);
  for (const [i, c] of cpu.entries()) expectTensorsClose(wasm[i]!, c, atol, rtol);
}

/** The value of `f` and its gradients with respect to each input, as one list. */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => f(...a).sum() as tf.Scalar)(xs);
  const y = f(...xs);
  return [y, value, ...grads];
}

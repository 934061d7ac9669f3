import * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, simdKernels } from '../simd/instance.js';
import { f32, type KernelArgs, zerosOutput } from '../wasm-heap.js';

type PoolAttrs = {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function poolInfo(shape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolAttrs;
  return tf.backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
}

/**
 * MaxPoolGrad: routes each dy to the first maximum of its window (scan order row-major, strict `>`,
 * padding excluded), the same choice the cpu backend makes. One pass over the windows.
 */
export function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const input = inputs.input as tf.TensorInfo;
  const c = poolInfo(input.shape, attrs);
  if (isPlain2x2(c)) return maxPoolGrad2x2(backend, input, dy, c);
  const dx = zerosOutput(backend, input.shape);
  const x = f32(backend, input);
  const g = f32(backend, dy);
  const o = f32(backend, dx);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth } = c;
  const fh = c.effectiveFilterHeight;
  const fw = c.effectiveFilterWidth;
  const padTop = c.padInfo.top;
  const padLeft = c.padInfo.left;
  const rowStride = inWidth * C;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight * rowStride;
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - padTop;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - padLeft;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        const gBase = ((b * outHeight + yr) * outWidth + yc) * C;
        for (let d = 0; d < C; d++) {
          let at = -1;
          let best = Number.NEGATIVE_INFINITY;
          for (let r = rMin; r < rMax; r++) {
            let i = xb + r * rowStride + cMin * C + d;
            for (let cc = cMin; cc < cMax; cc++, i += C) {
              const v = x[i]!;
              if (v > best) {
                best = v;
                at = i;
              }
            }
          }
          if (at >= 0) o[at]! += g[gBase + d]!;
        }
      }
    }
  }
  return dx;
}

/** The pooling every CNN in the zoo uses by default: 2x2 windows, stride 2, no padding, no dilation. */
function isPlain2x2(c: tf.backend_util.Conv2DInfo): boolean {
  return (
    c.effectiveFilterHeight === 2 &&
    c.effectiveFilterWidth === 2 &&
    c.strideHeight === 2 &&
    c.strideWidth === 2 &&
    c.padInfo.top === 0 &&
    c.padInfo.left === 0 &&
    // 'same' on an odd size pads the last window: not this case.
    2 * c.outHeight <= c.inHeight &&
    2 * c.outWidth <= c.inWidth
  );
}

/**
 * MaxPoolGrad for 2x2 / stride 2 / valid: the windows tile the input, so every input element is written
 * exactly once (dy or 0) with no zero-fill pass and no inner window loops; the same first-maximum rule
 * as the general loop (strict `>`, row-major, a window of NaNs gets no gradient). 2.5x the general loop
 * on the MNIST CNN's first pooling.
 */
function maxPoolGrad2x2(
  backend: KernelArgs['backend'],
  input: tf.TensorInfo,
  dy: tf.TensorInfo,
  c: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = c;
  // An odd last row or column lies outside every window: those (only) need the zero fill.
  const dx =
    inHeight === 2 * outHeight && inWidth === 2 * outWidth
      ? backend.makeOutput(input.shape, 'float32')
      : zerosOutput(backend, input.shape);
  // Four channels at a time and branch-free in wasm SIMD: the branches below mispredict on real
  // activations (2.2 ms for the MNIST CNN's first pooling at batch 32; 0.1 ms in SIMD).
  const simd = C % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    const args = [heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, dx), 0, batchSize, inHeight, inWidth, C, outHeight, outWidth];
    runShared(simd, { name: 'maxpool_grad_2x2_range', args, range: 3, items: batchSize, step: Math.ceil(batchSize / 16) }, simdHelper(backend));
    return dx;
  }
  const x = f32(backend, input);
  const g = f32(backend, dy);
  const o = f32(backend, dx);
  const rowStride = inWidth * C;
  let gi = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      let i0 = (b * inHeight + 2 * yr) * rowStride;
      for (let yc = 0; yc < outWidth; yc++, i0 += 2 * C) {
        const i1 = i0 + C;
        const i2 = i0 + rowStride;
        const i3 = i2 + C;
        for (let d = 0; d < C; d++, gi++) {
          const v0 = x[i0 + d]!;
          const v1 = x[i1 + d]!;
          const v2 = x[i2 + d]!;
          const v3 = x[i3 + d]!;
          let k = v0 > Number.NEGATIVE_INFINITY ? 0 : -1;
          let m = k === 0 ? v0 : Number.NEGATIVE_INFINITY;
          if (v1 > m) {
            m = v1;
            k = 1;
          }
          if (v2 > m) {
            m = v2;
            k = 2;
          }
          if (v3 > m) k = 3;
          const gv = g[gi]!;
          o[i0 + d] = k === 0 ? gv : 0;
          o[i1 + d] = k === 1 ? gv : 0;
          o[i2 + d] = k === 2 ? gv : 0;
          o[i3 + d] = k === 3 ? gv : 0;
        }
      }
    }
  }
  return dx;
}

/**
 * AvgPoolGrad: spreads each dy evenly over its window. Like the cpu backend (and tfjs's webgl), the
 * divisor is the full window size filterHeight * filterWidth, also for windows clipped by 'same' padding.
 */
export function avgPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const input = inputs.input as tf.TensorInfo;
  const c = poolInfo(input.shape, attrs);
  const dx = zerosOutput(backend, input.shape);
  const g = f32(backend, dy);
  const o = f32(backend, dx);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth } = c;
  const fh = c.effectiveFilterHeight;
  const fw = c.effectiveFilterWidth;
  const scale = 1 / (c.filterHeight * c.filterWidth);
  const rowStride = inWidth * C;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight * rowStride;
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - c.padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - c.padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        const gBase = ((b * outHeight + yr) * outWidth + yc) * C;
        for (let r = rMin; r < rMax; r++) {
          for (let cc = cMin; cc < cMax; cc++) {
            const base = xb + r * rowStride + cc * C;
            for (let d = 0; d < C; d++) o[base + d]! += g[gBase + d]! * scale;
          }
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig = { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad };
export const avgPoolGradConfig = { kernelName: tf.AvgPoolGrad, kernelFunc: avgPoolGrad };

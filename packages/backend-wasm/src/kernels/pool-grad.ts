import * as tf from '@tensorflow/tfjs-core';
import { f32, type KernelArgs, zerosOutput } from '../wasm-heap.js';

type PoolAttrs = { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

function poolInfo(shape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolAttrs;
  return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/**
 * MaxPoolGrad: routes each dy to the first maximum of its window (scan order row-major, strict `>`,
 * padding excluded), the same choice the cpu backend makes. One pass over the windows.
 */
export function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const input = inputs.input as tf.TensorInfo;
  const c = poolInfo(input.shape, attrs);
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

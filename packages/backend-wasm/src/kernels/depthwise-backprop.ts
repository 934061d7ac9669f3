import * as tf from '@tensorflow/tfjs-core';
import { f32, type KernelArgs, zerosOutput } from '../wasm-heap.js';

type DwAttrs = {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function info(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as DwAttrs;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
  );
}

/**
 * Visits every (output position, filter tap, channel, multiplier) of a depthwise convolution with
 * NHWC x [n, h, w, c], filter [fh, fw, c, m], dy [n, oh, ow, c*m]; `which` picks the gradient.
 */
function depthwiseBackprop(
  which: 'filter' | 'input',
  c: tf.backend_util.Conv2DInfo,
  a: Float32Array, // x (filter gradient) or filter (input gradient)
  g: Float32Array, // dy
  o: Float32Array, // dfilter or dx
): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = c;
  const { filterHeight: fh, filterWidth: fw } = c;
  const m = c.outChannels / C;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const gBase = ((b * outHeight + yr) * outWidth + yc) * C * m;
        for (let wr = 0; wr < fh; wr++) {
          const xr = yr * strideHeight - top + wr * dilationHeight;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < fw; wc++) {
            const xc = yc * strideWidth - left + wc * dilationWidth;
            if (xc < 0 || xc >= inWidth) continue;
            const xBase = ((b * inHeight + xr) * inWidth + xc) * C;
            const fBase = (wr * fw + wc) * C * m;
            if (which === 'filter') {
              for (let d = 0; d < C; d++) {
                const xv = a[xBase + d]!;
                for (let q = 0; q < m; q++) o[fBase + d * m + q]! += xv * g[gBase + d * m + q]!;
              }
            } else {
              for (let d = 0; d < C; d++) {
                let s = 0;
                for (let q = 0; q < m; q++) s += a[fBase + d * m + q]! * g[gBase + d * m + q]!;
                o[xBase + d]! += s;
              }
            }
          }
        }
      }
    }
  }
}

export function depthwiseConv2dNativeBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const filterShape = attrs.filterShape as number[];
  const c = info(x.shape, filterShape, attrs);
  const out = zerosOutput(backend, filterShape);
  depthwiseBackprop('filter', c, f32(backend, x), f32(backend, dy), f32(backend, out));
  return out;
}

export function depthwiseConv2dNativeBackpropInput({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const inputShape = attrs.inputShape as number[];
  const c = info(inputShape, filter.shape, attrs);
  const out = zerosOutput(backend, inputShape);
  depthwiseBackprop('input', c, f32(backend, filter), f32(backend, dy), f32(backend, out));
  return out;
}

export const depthwiseFilterConfig = { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseConv2dNativeBackpropFilter };
export const depthwiseInputConfig = { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseConv2dNativeBackpropInput };

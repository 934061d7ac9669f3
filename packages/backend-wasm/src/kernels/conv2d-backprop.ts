import * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, type SimdKernels, simdKernels } from '../simd/instance.js';
import { partialSumChunks, winogradConv3x3, winogradFilterGrad3x3, winogradFits } from './winograd.js';
import { convInfo, disposeInfos, f32, type KernelArgs, runWasmKernel, type WasmBackend, zerosOutput } from '../wasm-heap.js';

/*
 * - filter gradient: with our SIMD kernels, Winograd's adjoint for 3x3 stride-1 (winograd.ts), else
 *   im2colᵀ(x) · dy as one XNNPACK GEMM, or for first layers (few taps) one pass of our own kernel; without
 *   them, a convolution of x (batch and channel axes swapped) with dy as the filter, whose dilation is the
 *   forward stride;
 * - input gradient: a stride-1 convolution of dy (zeros inserted between rows/columns for stride > 1) with
 *   the filter rotated by 180 degrees and its in/out channels swapped: Winograd where it fits, else XNNPACK.
 */

/** Conv2DBackpropFilter: dW[fh, fw, ci, co] = sum over n, oh, ow of x[n, oh*s + fh*d - pad, ..., ci] * dy[n, oh, ow, co]. */
export function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const filterShape = attrs.filterShape as number[];
  const c = convInfo(x.shape, filterShape, attrs);
  const [fh, fw, ci, co] = filterShape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow, inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  // Pad bottom/right just enough for the output to cover the whole filter; extra rows are cut below.
  const bottom = Math.max(0, (fh - 1) * dh + (oh - 1) * sh + 1 - h - top);
  const right = Math.max(0, (fw - 1) * dw + (ow - 1) * sw + 1 - w - left);
  const simd = simdKernels(backend);
  if (simd && winogradFits(fh, fw, [sh, sw], [dh, dw], ci, co, c.batchSize * oh * ow)) {
    return winogradFilterGrad3x3(backend, simd, x, dy, { n: c.batchSize, h, w, c: ci, oh, ow, co, top, left });
  }
  if (simd) {
    // Few filter taps x input channels (a first layer): a GEMM of only fh*fw*ci rows would spend its time
    // packing dy; one pass of our kernel is several times faster.
    if (fh * fw * ci <= FEW_TAPS && co % 4 === 0) return filterGradFewTaps(backend, simd, x, dy, c);
    return filterGradGemm(backend, simd, x, dy, c);
  }
  // Without our SIMD kernels (TFPIPE_WASM_SIMD_KERNELS=0): the backend's own convolution does it.
  const xT = runWasmKernel(backend, tf.Transpose, { x }, { perm: [3, 1, 2, 0] }); // [ci, h, w, n]
  const dyT = runWasmKernel(backend, tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
  const conv = runWasmKernel(backend, tf.Conv2D, { x: xT, filter: dyT }, {
    strides: [dh, dw],
    dilations: [sh, sw],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
  }); // [ci, >=fh, >=fw, co]
  let cut = conv;
  if (conv.shape[1] !== fh || conv.shape[2] !== fw) {
    cut = runWasmKernel(backend, tf.Slice, { x: conv }, { begin: [0, 0, 0, 0], size: [ci, fh, fw, co] });
  }
  const out = runWasmKernel(backend, tf.Transpose, { x: cut }, { perm: [1, 2, 0, 3] });
  disposeInfos(backend, xT, dyT, conv);
  if (cut !== conv) disposeInfos(backend, cut);
  return out;
}

/** Filter rows (fh*fw*ci) up to which the few-taps kernel beats im2col + GEMM. */
const FEW_TAPS = 64;
/** The largest transposed im2col matrix filterGradGemm builds at once (floats, 16 MB); bigger batches go in chunks. */
const IM2COL_MAX_FLOATS = 1 << 22;

/**
 * dW = P^T dy as one XNNPACK GEMM, P^T [fh*fw*ci, n*oh*ow] the transposed im2col of x, built by our SIMD
 * kernels (x to channels-first by 4x4 register transposes, then row copies). MNIST CNN conv2 at batch 32
 * on 2 threads: 2.2 ms (0.35 of it the im2col), against 3.2 ms for the convolution of x by dy (whose two transposes and
 * per-call packing of dy as a 11x11x32 "filter" cost as much as its multiply-adds). Batches whose P^T
 * would pass IM2COL_MAX_FLOATS go in chunks whose products are summed.
 */
function filterGradGemm(
  backend: WasmBackend,
  simd: SimdKernels,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  c: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const rows = fh * fw * ci;
  const chunk = Math.max(1, Math.min(n, Math.floor(IM2COL_MAX_FLOATS / (rows * oh * ow))));
  let sum: tf.TensorInfo | undefined;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const nb = Math.min(chunk, n - b0);
    const m = nb * oh * ow;
    const xt = backend.makeOutput([ci, nb * h * w], 'float32');
    const pt = backend.makeOutput([rows, m], 'float32');
    simd.transpose_2d(heapOffset(backend, x) + b0 * h * w * ci * 4, heapOffset(backend, xt), nb * h * w, ci);
    simd.im2col_t(heapOffset(backend, xt), heapOffset(backend, pt), nb, h, w, ci, oh, ow, fh, fw, sh, sw, dh, dw, c.padInfo.top, c.padInfo.left);
    disposeInfos(backend, xt);
    const dyPart = nb === n ? dy : runWasmKernel(backend, tf.Slice, { x: dy }, { begin: [b0, 0, 0, 0], size: [nb, oh, ow, co] });
    const dy2 = runWasmKernel(backend, tf.Reshape, { x: dyPart }, { shape: [m, co] });
    const prod = runWasmKernel(backend, tf.BatchMatMul, { a: pt, b: dy2 }, { transposeA: false, transposeB: false });
    disposeInfos(backend, pt, dy2);
    if (dyPart !== dy) disposeInfos(backend, dyPart);
    if (sum === undefined) {
      sum = prod;
    } else {
      const next = runWasmKernel(backend, tf.Add, { a: sum, b: prod });
      disposeInfos(backend, sum, prod);
      sum = next;
    }
  }
  const out = runWasmKernel(backend, tf.Reshape, { x: sum! }, { shape: [fh, fw, ci, co] });
  disposeInfos(backend, sum!);
  return out;
}

/**
 * The few-taps filter gradient in one pass of our wasm SIMD kernel: no im2col matrix, no GEMM whose
 * packing of dy ([n*oh*ow, co]) costs more than its multiply-adds (MNIST CNN conv1 at batch 32: 2.5 ms
 * as im2col + BatchMatMul on 2 threads).
 */
function filterGradFewTaps(
  backend: WasmBackend,
  simd: SimdKernels,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  c: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const helper = n > 1 ? simdHelper(backend) : undefined;
  const size = fh * fw * ci * co;
  const { step, partials } = partialSumChunks(n);
  const sums = zerosOutput(backend, [partials * size]);
  const scratchFloats = fh * fw * ci * 64;
  const scratch = backend.makeOutput([(helper ? 2 : 1) * scratchFloats], 'float32');
  const so = heapOffset(backend, sums);
  const args = [
    heapOffset(backend, x), heapOffset(backend, dy), so, heapOffset(backend, scratch),
    0, n, h, w, ci, oh, ow, co, fh, fw, sh, sw, dh, dw, c.padInfo.top, c.padInfo.left,
  ];
  const scratchSlot = [{ arg: 3, bytes: scratchFloats * 4 }];
  runShared(simd, { name: 'conv_filter_grad_few_taps_range', args, range: 4, items: n, step, scratch: scratchSlot, perChunk: { arg: 2, bytes: size * 4 } }, helper);
  const out = backend.makeOutput([fh, fw, ci, co], 'float32');
  simd.add_partials(so, partials, size * 4, size, heapOffset(backend, out));
  disposeInfos(backend, scratch, sums);
  return out;
}

/** The filter rotated by 180 degrees with in/out channels swapped: [fh, fw, ci, co] -> [fh, fw, co, ci]. */
function rotatedFilter(backend: WasmBackend, filter: tf.TensorInfo): tf.TensorInfo {
  const [fh, fw, ci, co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([fh, fw, co, ci], 'float32');
  const simd = simdKernels(backend);
  if (simd) {
    // Tap t's [ci, co] matrix, transposed, is tap (taps - 1 - t)'s [co, ci]: one SIMD transpose per tap.
    const taps = fh * fw;
    const bytes = ci * co * 4;
    const from = heapOffset(backend, filter);
    const to = heapOffset(backend, out);
    for (let t = 0; t < taps; t++) simd.transpose_2d(from + t * bytes, to + (taps - 1 - t) * bytes, ci, co);
    return out;
  }
  const src = f32(backend, filter);
  const dst = f32(backend, out);
  for (let r = 0; r < fh; r++) {
    for (let c = 0; c < fw; c++) {
      const s = ((fh - 1 - r) * fw + (fw - 1 - c)) * ci * co;
      const d = (r * fw + c) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) dst[d + o * ci + i] = src[s + i * co + o]!;
    }
  }
  return out;
}

/** dy with (stride - 1) zero rows/columns between its rows/columns: the "fractionally strided" input. */
function dilatedDy(backend: WasmBackend, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [n, oh, ow, ch] = dy.shape as [number, number, number, number];
  const hh = (oh - 1) * sh + 1;
  const ww = (ow - 1) * sw + 1;
  const out = backend.makeOutput([n, hh, ww, ch], 'float32');
  const dst = f32(backend, out);
  dst.fill(0);
  const src = f32(backend, dy);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        const s = ((b * oh + r) * ow + c) * ch;
        dst.set(src.subarray(s, s + ch), ((b * hh + r * sh) * ww + c * sw) * ch);
      }
    }
  }
  return out;
}

/** Conv2DBackpropInput as a stride-1 XNNPACK convolution (the backend's own kernel is a plain C++ loop). */
export function conv2DBackpropInput(args: KernelArgs, fallback?: (args: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const inputShape = attrs.inputShape as number[];
  const c = convInfo(inputShape, filter.shape, attrs);
  const { strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = c;
  const efh = c.effectiveFilterHeight;
  const efw = c.effectiveFilterWidth;
  const top = efh - 1 - c.padInfo.top;
  const left = efw - 1 - c.padInfo.left;
  const bottom = h + c.padInfo.top - (c.outHeight - 1) * sh - 1;
  const right = w + c.padInfo.left - (c.outWidth - 1) * sw - 1;
  if ((top < 0 || left < 0 || bottom < 0 || right < 0) && fallback) return fallback(args);
  const rot = rotatedFilter(backend, filter);
  const [n, oh, ow, co] = dy.shape as [number, number, number, number];
  const simd = simdKernels(backend);
  if (simd && winogradFits(efh, efw, [sh, sw], [c.dilationHeight, c.dilationWidth], co, c.inChannels, n * h * w)) {
    // The same convolution as below, by Winograd F(4x4, 3x3): 2x fewer multiply-adds than XNNPACK's direct one.
    const out = winogradConv3x3(backend, simd, dy, rot, { n, h: oh, w: ow, c: co, oh: h, ow: w, co: c.inChannels, top, left });
    disposeInfos(backend, rot);
    return out;
  }
  const src = sh === 1 && sw === 1 ? dy : dilatedDy(backend, dy, sh, sw);
  const out = runWasmKernel(backend, tf.Conv2D, { x: src, filter: rot }, {
    strides: [1, 1],
    dilations: [c.dilationHeight, c.dilationWidth],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
  });
  disposeInfos(backend, rot);
  if (src !== dy) disposeInfos(backend, src);
  return out;
}

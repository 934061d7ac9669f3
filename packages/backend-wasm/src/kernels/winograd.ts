import type * as tf from '@tensorflow/tfjs-core';
import { runShared, simdHelper } from '../simd/helper.js';
import { heapOffset, type SimdKernels, simdKernels } from '../simd/instance.js';
import { type ConvAttrs, convInfo, disposeInfos, type Epilogue, fusedEpilogue, type KernelArgs, type WasmBackend } from '../wasm-heap.js';

/** Tiles per chunk in winograd_conv_f4x3 (scripts/winograd-wat.mjs: TILES). */
const TILES = 16;
/**
 * Filter gradients are summed per chunk of the batch, 4 chunks at most, and the chunks' sums then added in
 * order (add_partials): the same numbers whichever thread ran which chunk, and with one thread or two.
 * Returns the images per chunk and the number of chunks.
 */
export function partialSumChunks(n: number): { step: number; partials: number } {
  const step = Math.ceil(n / 4);
  return { step, partials: Math.ceil(n / step) };
}

/** The shape of one stride-1, dilation-1 3x3 convolution (NHWC), output (r, q) reading input rows r - top + 0..2. */
export interface Winograd3x3 {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  co: number;
  top: number;
  left: number;
}

let enabled = process.env.TFPIPE_WASM_WINOGRAD !== '0';

/** Turns the Winograd convolutions off (XNNPACK's direct ones run instead): for A/B measurements and tests. */
export function setWinogradEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Whether Winograd F(4x4, 3x3) takes this convolution: a 3x3 filter, stride and dilation 1, input channels a
 * multiple of 4 and output channels of 8 (the kernel's SIMD widths), and enough output pixels to amortise
 * the filter transform (36 x c x co floats).
 */
export function winogradFits(fh: number, fw: number, strides: [number, number], dilations: [number, number], c: number, co: number, outPixels: number): boolean {
  return enabled && fh === 3 && fw === 3 && strides[0] === 1 && strides[1] === 1 && dilations[0] === 1 && dilations[1] === 1 &&
    c % 4 === 0 && co % 8 === 0 && outPixels >= 64;
}

/**
 * y = x ⋆ filter by Winograd F(4x4, 3x3) in our SIMD kernels: 2.25-4x fewer multiplies than the direct
 * convolution (4x on whole tiles), transforms as straight-line SIMD code. `filter` is [3, 3, c, co].
 */
export function winogradConv3x3(
  backend: WasmBackend,
  simd: SimdKernels,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  s: Winograd3x3,
  epilogue: Epilogue = {},
): tf.TensorInfo {
  const u = backend.makeOutput([36, s.c, s.co], 'float32');
  const y = backend.makeOutput([s.n, s.oh, s.ow, s.co], 'float32');
  const helper = s.n > 1 ? simdHelper(backend) : undefined;
  const perThread = s.c + 36 * (TILES * (s.c + s.co) + 32);
  const scratch = backend.makeOutput([helper ? 2 * perThread : perThread], 'float32');
  simd.winograd_filter_f4x3(heapOffset(backend, filter), heapOffset(backend, u), s.c, s.co);
  const xo = heapOffset(backend, x);
  const uo = heapOffset(backend, u);
  const yo = heapOffset(backend, y);
  const so = heapOffset(backend, scratch);
  const bias = epilogue.bias ? heapOffset(backend, epilogue.bias) : 0;
  const args = [xo, uo, yo, so, 0, s.n, s.h, s.w, s.c, s.oh, s.ow, s.co, s.top, s.left, bias, epilogue.relu ? 1 : 0];
  // Two threads claim images a few at a time (see simd/helper.ts).
  runShared(simd, { name: 'winograd_conv_f4x3', args, range: 4, items: s.n, step: Math.ceil(s.n / 16), scratch: [{ arg: 3, bytes: perThread * 4 }] }, helper);
  disposeInfos(backend, u, scratch);
  return y;
}

/**
 * The filter gradient of that convolution, dW[3, 3, c, co] for dy [n, oh, ow, co], as the adjoint of the
 * Winograd transform: du = Σ over tiles (Bᵀ d B)ᵀ (A e Aᵀ), 36 GEMMs of c x co summed over the tiles,
 * then dW = Gᵀ du G.
 */
export function winogradFilterGrad3x3(backend: WasmBackend, simd: SimdKernels, x: tf.TensorInfo, dy: tf.TensorInfo, s: Winograd3x3): tf.TensorInfo {
  const helper = s.n > 1 ? simdHelper(backend) : undefined;
  const { step, partials } = partialSumChunks(s.n);
  const duFloats = 36 * s.c * s.co;
  const du = backend.makeOutput([partials * duFloats], 'float32');
  backend.typedArrayFromHeap(du).fill(0);
  const dw = backend.makeOutput([3, 3, s.c, s.co], 'float32');
  const perThread = s.c + s.co + 36 * (TILES * (s.c + s.co) + 32);
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  const duo = heapOffset(backend, du);
  const args = [heapOffset(backend, x), heapOffset(backend, dy), duo, heapOffset(backend, scratch), 0, s.n, s.h, s.w, s.c, s.oh, s.ow, s.co, s.top, s.left];
  const scratchSlot = [{ arg: 3, bytes: perThread * 4 }];
  runShared(simd, { name: 'winograd_filter_grad_f4x3', args, range: 4, items: s.n, step, scratch: scratchSlot, perChunk: { arg: 2, bytes: duFloats * 4 } }, helper);
  simd.add_partials(duo, partials, duFloats * 4, duFloats, duo);
  simd.winograd_filter_grad_out(duo, heapOffset(backend, dw), s.c, s.co);
  disposeInfos(backend, du, scratch);
  return dw;
}

/** The Winograd shape of a Conv2D / FusedConv2D call, or undefined when Winograd does not take it. */
function winogradShape(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): Winograd3x3 | undefined {
  const { dataFormat } = attrs as unknown as ConvAttrs;
  if ((dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4 || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const c = convInfo(x.shape, filter.shape, attrs);
  const fits = winogradFits(c.filterHeight, c.filterWidth, [c.strideHeight, c.strideWidth], [c.dilationHeight, c.dilationWidth], c.inChannels, c.outChannels, c.batchSize * c.outHeight * c.outWidth);
  if (!fits) return undefined;
  return {
    n: c.batchSize, h: c.inHeight, w: c.inWidth, c: c.inChannels, oh: c.outHeight, ow: c.outWidth, co: c.outChannels,
    top: c.padInfo.top, left: c.padInfo.left,
  };
}

/** Conv2D: Winograd F(4x4, 3x3) where it fits (see winogradFits), else the backend's own (XNNPACK) convolution. */
export function conv2dWinograd(args: KernelArgs, original: (args: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const simd = simdKernels(backend);
  const shape = simd && winogradShape(x, filter, attrs);
  return simd && shape ? winogradConv3x3(backend, simd, x, filter, shape) : original(args);
}

/**
 * FusedConv2D (what tfjs-layers' Conv2D runs; in training too on wasm, see fused.ts): Winograd with the bias and a ReLU applied in
 * its output transform, for no bias or a bias per output channel and no activation or ReLU; else the original.
 */
export function fusedConv2dWinograd(args: KernelArgs, original: (args: KernelArgs) => tf.TensorInfo): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const epilogue = fusedEpilogue(inputs, attrs, filter.shape[3]!);
  const simd = simdKernels(backend);
  const shape = simd && epilogue && winogradShape(x, filter, attrs);
  return simd && shape ? winogradConv3x3(backend, simd, x, filter, shape, epilogue) : original(args);
}

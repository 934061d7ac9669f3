import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from '../wasm-heap.js';
import { SIMD_KERNELS_PLAIN, SIMD_KERNELS_SHARED } from './kernels.js';

/** The exports of kernels.wat; every pointer is a byte offset into the backend's heap. */
export interface SimdKernels {
  maxpool_grad_2x2(x: number, dy: number, dx: number, batch: number, inH: number, inW: number, c: number, outH: number, outW: number): void;
  sum_rows(x: number, out: number, rows: number, inner: number): void;
  batch_matmul(a: number, b: number, c: number, batchA: number, batchB: number, m: number, k: number, n: number): void;
  adam_update(
    value: number, m: number, v: number, g: number, outValue: number, outM: number, outV: number, size: number,
    b1: number, c1: number, b2: number, c2: number, d1: number, d2: number, eps: number, negLr: number,
  ): void;
  relu_grad(dy: number, x: number, dx: number, size: number): void;
  transpose_2d(x: number, out: number, rows: number, cols: number): void;
  im2col_t(
    xt: number, out: number, n: number, h: number, w: number, ci: number, oh: number, ow: number,
    fh: number, fw: number, sh: number, sw: number, dh: number, dw: number, top: number, left: number,
  ): void;
  conv_filter_grad_few_taps(
    x: number, dy: number, dw: number, g: number,
    n: number, h: number, w: number, ci: number, oh: number, ow: number, co: number,
    fh: number, fw: number, sh: number, sw: number, dh: number, dw_: number, top: number, left: number,
  ): void;
  maxpool_grad_2x2_range(x: number, dy: number, dx: number, n0: number, n1: number, inH: number, inW: number, c: number, outH: number, outW: number): void;
  conv_filter_grad_few_taps_range(
    x: number, dy: number, dw: number, g: number, n0: number, n1: number,
    h: number, w: number, ci: number, oh: number, ow: number, co: number,
    fh: number, fw: number, sh: number, sw: number, dh: number, dw_: number, top: number, left: number,
  ): void;
  relu_grad_range(dy: number, x: number, dx: number, i0: number, i1: number, size: number): void;
  lstm_gates(z: number, c: number, h: number, cn: number, rows: number, units: number, hard: number): void;
  lstm_gates_grad(dh: number, dcn: number, z: number, c: number, dz: number, dc: number, rows: number, units: number, hard: number): void;
  gemm(a: number, b: number, c: number, batchA: number, batchB: number, m: number, k: number, n: number, bias: number, relu: number): void;
  gemm_rows_range(a: number, b: number, c: number, i0: number, i1: number, k: number, n: number, bias: number, relu: number): void;
  gemm_batch_range(
    a: number, b: number, c: number, b0: number, b1: number, batchA: number, batchB: number, m: number, k: number, n: number, bias: number, relu: number,
  ): void;
  gru_gates(mx: number, inner: number, h: number, z: number, rh: number, rows: number, units: number, hard: number): void;
  gru_gates_grad(
    dz: number, drh: number, mx: number, inner: number, h: number, dmx: number, dinner: number, dh: number, rows: number, units: number, hard: number,
  ): void;
  gru_out(mx: number, rech: number, z: number, h: number, hn: number, rows: number, units: number): void;
  gru_out_grad(
    dhn: number, mx: number, rech: number, z: number, h: number, dmx: number, drech: number, dz: number, dh: number, rows: number, units: number,
  ): void;
  add_partials(src: number, count: number, stride: number, size: number, dst: number): void;
  winograd_filter_f4x3(f: number, u: number, ci: number, co: number): void;
  winograd_filter_grad_f4x3(
    x: number, dy: number, du: number, scratch: number, n0: number, n1: number,
    h: number, w: number, c: number, oh: number, ow: number, co: number, top: number, left: number,
  ): void;
  winograd_filter_grad_out(du: number, dw: number, c: number, co: number): void;
  winograd_conv_f4x3(
    x: number, u: number, y: number, scratch: number, n0: number, n1: number,
    h: number, w: number, c: number, oh: number, ow: number, co: number, top: number, left: number, bias: number, relu: number,
  ): void;
}

// The WebAssembly API, typed here: this package compiles without the DOM lib that declares it.
type Memory = { readonly buffer: ArrayBuffer | SharedArrayBuffer };
const WA = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: unknown } } }).WebAssembly;

const instances = new WeakMap<Memory, SimdKernels | null>();
let enabled = process.env.TFPIPE_WASM_SIMD_KERNELS !== '0';
let fallback: string | undefined;

/** Why our SIMD kernels could not start, when the JavaScript versions run instead; undefined when they run (or are off on purpose). */
export function simdKernelsFallbackReason(): string | undefined {
  return fallback;
}

/** Records and logs (once per reason) that the JavaScript kernels serve instead of the SIMD ones. */
function fellBack(reason: string): void {
  if (fallback === reason) return;
  fallback = reason;
  console.warn(`[tfpipe] the WebAssembly SIMD kernels did not start (${reason}); using the slower JavaScript kernels`);
}

/** Turns our SIMD kernels off (the JavaScript versions run instead): for A/B measurements and tests. */
export function setSimdKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Our SIMD kernels, instantiated once over this backend's own memory (the threaded build's is shared,
 * hence two binaries); undefined when off or when the memory cannot be reached, and callers fall back.
 */
export function simdKernels(backend: WasmBackend): SimdKernels | undefined {
  if (!enabled) return undefined;
  const memory = backendMemory(backend);
  if (!memory) {
    fellBack("the wasm backend's memory cannot be reached");
    return undefined;
  }
  let k = instances.get(memory);
  if (k === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const module = new WA.Module(Buffer.from(shared ? SIMD_KERNELS_SHARED : SIMD_KERNELS_PLAIN, 'base64'));
      k = new WA.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
    } catch (e) {
      k = null; // no wasm SIMD here: the JavaScript kernels serve, and the log says so
      fellBack(e instanceof Error ? e.message : String(e));
    }
    instances.set(memory, k);
  }
  return k ?? undefined;
}

/** The wasm backend's heap (a WebAssembly.Memory), if it can be reached. */
export function backendMemory(backend: WasmBackend): Memory | undefined {
  const wasm = (backend as unknown as { wasm?: { wasmMemory?: Memory; asm?: { memory?: Memory } } }).wasm;
  return wasm?.wasmMemory ?? wasm?.asm?.memory;
}

/** A tensor's byte offset in the heap. */
export function heapOffset(backend: WasmBackend, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor data not found on the wasm backend');
  return d.memoryOffset;
}

import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { WasmBackend } from '../wasm-heap.js';
import { simdKernels, simdKernelsFallbackReason } from './instance.js';

describe('the SIMD kernels binary', () => {
  it('kernels.ts is what scripts/gen-simd.mjs makes of kernels.wat today (regenerate with `pnpm --filter @tfpipe/backend-wasm gen:simd`)', async () => {
    const script: string = new URL('../../scripts/gen-simd.mjs', import.meta.url).href;
    const { compileSimdKernels } = (await import(script)) as { compileSimdKernels: () => Promise<string> };
    expect(readFileSync(new URL('./kernels.ts', import.meta.url), 'utf8')).toBe(await compileSimdKernels());
  });
});

describe('the SIMD kernels falling back to JavaScript', () => {
  it('says so on the log, once per reason, and keeps the reason', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(simdKernelsFallbackReason()).toBeUndefined();
      // A heap that is not a WebAssembly.Memory: instantiating the kernels over it fails for real.
      const notAMemory = { wasm: { wasmMemory: { buffer: new ArrayBuffer(64) } } } as unknown as WasmBackend;
      expect(simdKernels(notAMemory)).toBeUndefined();
      expect(simdKernels(notAMemory)).toBeUndefined();
      expect(simdKernelsFallbackReason()).toBeTruthy();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/WebAssembly SIMD kernels did not start .*JavaScript kernels/);
      // A backend whose memory cannot be reached at all.
      expect(simdKernels({} as unknown as WasmBackend)).toBeUndefined();
      expect(simdKernelsFallbackReason()).toMatch(/memory cannot be reached/);
      expect(warn).toHaveBeenCalledTimes(2);
    } finally {
      warn.mockRestore();
    }
  });
});

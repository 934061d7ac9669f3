import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the SIMD kernels binary', () => {
  it('kernels.ts is what scripts/gen-simd.mjs makes of kernels.wat today (regenerate with `pnpm --filter @tfpipe/backend-wasm gen:simd`)', async () => {
    const script: string = new URL('../../scripts/gen-simd.mjs', import.meta.url).href;
    const { compileSimdKernels } = (await import(script)) as { compileSimdKernels: () => Promise<string> };
    expect(readFileSync(new URL('./kernels.ts', import.meta.url), 'utf8')).toBe(await compileSimdKernels());
  });
});

// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeakedTensors, expectTensorsClose } from '@tfpipe/test-utils';
import { describe, expect, it } from 'vitest';
import { MAX_WASM_THREADS, resolveWasmThreads, threadedBuildFiles, useWasmBackend, wasmPoolSpinPatched, wasmThreadsFallbackReason, wasmThreadsFor, wasmThreadsInUse } from './index.js';
import { setSimdHelperEnabled, simdHelperItems } from './simd/helper.js';
import { values } from './test-helpers.js';
import type { WasmBackend } from './wasm-heap.js';

const cores = Math.min(availableParallelism(), MAX_WASM_THREADS);
const script = fileURLToPath(new URL('./__fixtures__/threads-script.ts', import.meta.url));
// The child's thread count comes from `env` alone, whatever TFPIPE_WASM_THREADS the test run has.
const { TFPIPE_WASM_THREADS: _, ...baseEnv } = process.env;
const runScript = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--conditions=@tfpipe/source', '--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000, env: { ...baseEnv, ...env } });

describe('the multithreaded wasm build in Node', () => {
  it('starts with one XNNPACK thread per core by default, from files written out of the installed bundle', async () => {
    await useWasmBackend({ threads: 'auto' });
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadsFallbackReason()).toBeUndefined();
    expect(wasmThreadsInUse()).toBe(cores);
    // The pool's idle threads poll 1,000 times, not 1,000,000, before they sleep (see POOL_SPIN_POLLS).
    if (cores > 1) expect(wasmPoolSpinPatched()).toBe(true);
    const files = threadedBuildFiles();
    for (const f of [files.main, files.worker, files.wasm]) expect(existsSync(f), f).toBe(true);
  });

  it('computes convolutions and their gradients like the cpu backend, and leaks nothing', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor(values([6, 14, 14, 3], 7), [6, 14, 14, 3]) as tf.Tensor4D;
      const w = tf.tensor(values([3, 3, 3, 16], 8), [3, 3, 3, 16]) as tf.Tensor4D;
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')).square().mean() as tf.Scalar;
      const out = tf.tidy(() => [f(x, w), ...tf.grads(f)([x, w])].map((t) => Float32Array.from(t.dataSync())));
      tf.dispose([x, w]);
      return out;
    };
    const cpu = await run('cpu');
    await expectNoLeakedTensors(async () => {
      const wasm = await run('wasm');
      for (const [i, c] of cpu.entries()) expectTensorsClose(wasm[i]!, c, 1e-5, 1e-4);
    });
  });

  it('our kernels on two threads (the helper thread claims images and rows too) match cpu, and leak nothing', async () => {
    // Winograd (the MNIST CNN's second layer; an odd batch), and a first layer: the few-taps filter
    // gradient, ReLU's gradient and max pooling's gradient, each split between the two threads.
    type Shape = [number, number, number, number];
    const shapes: [Shape, Shape, 'valid' | 'same'][] = [
      [[8, 13, 13, 32], [3, 3, 32, 64], 'valid'],
      [[7, 10, 11, 8], [3, 3, 8, 16], 'same'],
      [[8, 28, 28, 1], [3, 3, 1, 32], 'valid'],
    ];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const out: Float32Array[] = [];
      for (const [xs, fs, pad] of shapes) {
        const x = tf.tensor(values(xs, 31), xs) as tf.Tensor4D;
        const w = tf.tensor(values(fs, 32), fs) as tf.Tensor4D;
        const layer = (a: tf.Tensor, b: tf.Tensor) => tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad)), 2, 2, 'valid');
        const f = (a: tf.Tensor, b: tf.Tensor) => layer(a, b).square().mean() as tf.Scalar;
        out.push(...tf.tidy(() => [layer(x, w), ...tf.grads(f)([x, w])].map((t) => Float32Array.from(t.dataSync()))));
        tf.dispose([x, w]);
      }
      // GEMMs big enough to share (rows of one product, 130 = not a multiple of 4; products of a batch), with gradients.
      for (const [as, bs] of [[[130, 96], [96, 64]], [[20, 16, 32], [20, 32, 48]]]) {
        const a = tf.tensor(values(as!, 33), as!);
        const b = tf.tensor(values(bs!, 34), bs!);
        const f = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q).square().mean() as tf.Scalar;
        out.push(...tf.tidy(() => [tf.matMul(a, b), ...tf.grads(f)([a, b])].map((t) => Float32Array.from(t.dataSync()))));
        tf.dispose([a, b]);
      }
      return out;
    };
    const cpu = await run('cpu');
    await useWasmBackend({ threads: 'auto' });
    const backend = tf.backend() as unknown as WasmBackend;
    await run('wasm'); // starts the helper thread
    const before = simdHelperItems(backend) ?? 0;
    const check = async () => {
      const wasm = await run('wasm');
      for (const [i, c] of cpu.entries()) expectTensorsClose(wasm[i]!, c, 1e-3, 1e-4);
    };
    await expectNoLeakedTensors(check);
    // On a busy machine a call may finish before the helper thread wakes: run (and check) more rounds until it
    // has taken part, a condition rather than a number of rounds (the test's timeout is the only guard).
    if (cores > 1) while ((simdHelperItems(backend) ?? 0) <= before) await check();
    if (cores > 1) expect(simdHelperItems(backend)!).toBeGreaterThan(before);
    // Same numbers bit for bit whichever thread ran which images, and with the helper off: filter gradients
    // are summed per fixed chunk of the batch, then in order.
    const first = await run('wasm');
    const again = await run('wasm');
    setSimdHelperEnabled(false);
    try {
      const alone = await run('wasm');
      for (const [i, a] of first.entries()) {
        expect(again[i], `output ${i}, two threads again`).toEqual(a);
        expect(alone[i], `output ${i}, calling thread alone`).toEqual(a);
      }
    } finally {
      setSimdHelperEnabled(true);
    }
  }, 300_000); // a hang guard: on a loaded machine each round is slow, and rounds run until the helper took part

  it('a script on the threaded build exits on its own once it is done', () => {
    const r = runScript({});
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^threads ${cores} fallback none loss \\d`, 'm'));
  });

  it('TFPIPE_WASM_THREADS=1 runs the single-threaded build, to the same loss', () => {
    const one = runScript({ TFPIPE_WASM_THREADS: '1' });
    const many = runScript({});
    expect(one.status).toBe(0);
    expect(one.stdout).toMatch(/^threads 1 fallback none loss \d/m);
    const loss = (s: string) => Number(/loss ([\d.]+)/.exec(s)![1]);
    expect(loss(one.stdout)).toBeCloseTo(loss(many.stdout), 4);
  });

  it('resolves thread requests: auto is the core count, capped at the build maximum; a bad env value is an error', () => {
    expect(resolveWasmThreads('auto')).toBe(cores);
    expect(resolveWasmThreads(64)).toBe(MAX_WASM_THREADS);
    expect(resolveWasmThreads(1)).toBe(1);
    process.env.TFPIPE_WASM_MAX_THREADS = '1';
    try {
      expect(resolveWasmThreads('auto')).toBe(1); // a sweep child's share of the cores caps any request
    } finally {
      delete process.env.TFPIPE_WASM_MAX_THREADS;
    }
    const bad = runScript({ TFPIPE_WASM_THREADS: 'lots' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/TFPIPE_WASM_THREADS must be "auto" or a whole number >= 1, received "lots"/);
  });

  it('picks every core for models with convolutions and one thread for the rest, from a config or a topology', () => {
    expect(wasmThreadsFor({ type: 'cnn', blocks: [{ filters: 8 }] })).toBe('auto');
    expect(wasmThreadsFor({ type: 'layers', layers: [{ type: 'conv2d', filters: 8 }, { type: 'flatten' }] })).toBe('auto');
    expect(wasmThreadsFor({ inputs: { image: { encoder: { type: 'cnn' } }, tab: { encoder: { type: 'mlp' } } } })).toBe('auto');
    expect(wasmThreadsFor({ type: 'mlp', units: [64, 32] })).toBe(1);
    expect(wasmThreadsFor({ type: 'rnn', cell: 'lstm' })).toBe(1);
    expect(wasmThreadsFor(undefined)).toBe(1);
    const conv = tfl.sequential({ layers: [tfl.layers.conv1d({ filters: 2, kernelSize: 3, inputShape: [8, 1] }), tfl.layers.flatten(), tfl.layers.dense({ units: 1 })] });
    const dense = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
    expect(wasmThreadsFor(conv.toJSON(null, false))).toBe('auto');
    expect(wasmThreadsFor(dense.toJSON(null, false))).toBe(1);
    conv.dispose();
    dense.dispose();
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// The wasm backend lacks some gradient kernels; @tfpipe/backend-wasm registers them (and chained ops).
import { useWasmBackend } from '@tfpipe/backend-wasm';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CASES } from './__fixtures__/cases.js';
import { contractCycle } from './__fixtures__/cycle.js';

let dir: string;
beforeAll(async () => {
  await useWasmBackend();
  if (tf.getBackend() !== 'wasm') throw new Error(`expected the wasm backend, got ${tf.getBackend()}`);
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-models-wasm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model builder contract (wasm)', () => {
  for (const c of CASES) {
    it(`${c.name}: builds, trains a step, saves, loads with identical predictions, leaks nothing`, async () => {
      let run = 0;
      await expectNoLeakedTensors(
        () => contractCycle(c, join(dir, `${c.name.replace(/\W+/g, '-')}-${run++}`)),
        1,
      );
    });
  }
});

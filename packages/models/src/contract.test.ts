import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers' RNN cells and orthogonal initializer call chained tensor methods that the Node bundle of
// tfjs-core leaves out; the pipeline gets them from @tfpipe/backend-wasm, and so do these tests.
import { installChainedOps } from '@tfpipe/backend-wasm';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CASES } from './__fixtures__/cases.js';
import { contractCycle } from './__fixtures__/cycle.js';

let dir: string;
beforeAll(async () => {
  installChainedOps();
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-models-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model builder contract (cpu)', () => {
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

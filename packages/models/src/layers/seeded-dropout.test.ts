import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SeededDropout } from './seeded-dropout.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mask = (layer: SeededDropout): number[] =>
  tf.tidy(() => Array.from((layer.apply(tf.ones([4, 8]), { training: true }) as tf.Tensor).dataSync()));

describe('SeededDropout', () => {
  it('a fresh mask every training call; its generator state, put back, draws the same masks again (checkpoints)', () => {
    const layer = new SeededDropout({ rate: 0.5, seed: 7 });
    const first = mask(layer);
    const state = layer.getRandomState();
    const second = mask(layer);
    const third = mask(layer);
    expect(second).not.toEqual(first);
    expect(second.filter((v) => v === 0).length).toBeGreaterThan(0);
    // Another layer (a resumed process) with the saved state continues the same stream.
    const resumed = new SeededDropout({ rate: 0.5, seed: 7 });
    resumed.setRandomState(JSON.parse(JSON.stringify(state)));
    expect(mask(resumed)).toEqual(second);
    expect(mask(resumed)).toEqual(third);
    // Without it, it starts over from the seed.
    expect(mask(new SeededDropout({ rate: 0.5, seed: 7 }))).toEqual(first);
  });
});

import { describe, expect, it } from 'vitest';
import { initialPlateauState, plateauStep, scheduleSchema, scheduledLearningRate, type PlateauState } from './index.js';

const p = (epoch: number, step = 0, stepsPerEpoch?: number) => ({ epoch, step, epochs: 10, ...(stepsPerEpoch ? { stepsPerEpoch } : {}) });

describe('learning rate schedules', () => {
  it('step: lr0 * gamma^floor(epoch / stepSize)', () => {
    const s = scheduleSchema.parse({ type: 'step', stepSize: 3, gamma: 0.5 });
    expect([0, 2, 3, 5, 6].map((e) => scheduledLearningRate(0.1, s, p(e)))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });
  it('exponential: lr0 * gamma^epoch', () => {
    const s = scheduleSchema.parse({ type: 'exponential', gamma: 0.9 });
    expect(scheduledLearningRate(1, s, p(2))).toBeCloseTo(0.81, 12);
  });
  it('cosine with warm-up, per step: linear up, then half a cosine down to minLr', () => {
    // 10 epochs x 10 steps = 100 steps; 1 warm-up epoch = 10 steps.
    const s = scheduleSchema.parse({ type: 'cosine', warmupEpochs: 1, minLr: 0 });
    expect(scheduledLearningRate(1, s, p(0, 0, 10))).toBeCloseTo(0.1, 12);
    expect(scheduledLearningRate(1, s, p(0, 9, 10))).toBeCloseTo(1, 12);
    expect(scheduledLearningRate(1, s, p(1, 10, 10))).toBeCloseTo(1, 12);
    // Half-way through the decay (step 55 of 10..100): cos(pi/2) = 0 → lr0 / 2.
    expect(scheduledLearningRate(1, s, p(5, 55, 10))).toBeCloseTo(0.5, 12);
    expect(scheduledLearningRate(1, s, p(9, 100, 10))).toBeCloseTo(0, 12);
  });
  it('cosine without a known epoch length changes per epoch', () => {
    const s = scheduleSchema.parse({ type: 'cosine', minLr: 0.1 });
    // t = 5 of 10 epochs → minLr + (1 - minLr) / 2.
    expect(scheduledLearningRate(1, s, p(5))).toBeCloseTo(0.55, 12);
  });
  it('plateau: reduces by factor after patience, respects cooldown and minLr', () => {
    const s = scheduleSchema.parse({ type: 'plateau', factor: 0.5, patience: 2, cooldown: 1, minLr: 0.2 });
    if (s.type !== 'plateau') throw new Error('parse');
    let st: PlateauState = initialPlateauState();
    const lrs: number[] = [];
    for (const v of [1, 1, 1, 1, 1, 1, 1, 1]) {
      st = plateauStep(st, v, 'min', s).state;
      lrs.push(scheduledLearningRate(1, s, p(0), st));
    }
    // best at epoch 1; reduce at 3 (wait 2), cooldown at 4, reduce at 6, then clamp at minLr 0.2.
    expect(lrs).toEqual([1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25].map((x) => Math.max(0.2, x)));
    expect(st.scale).toBeCloseTo(0.25, 12);
  });
});

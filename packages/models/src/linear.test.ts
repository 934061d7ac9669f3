import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const inputs = [{ name: 'features', shape: [3], kind: 'tabular' as const }];

describe('linear model type', () => {
  it('is one dense layer with no activation and one output per regression target', () => {
    const m = buildModel({ type: 'linear' } as never, { inputs, task: { kind: 'regression', outputs: 2 }, seed: 1 });
    const dense = m.layers.filter((l) => l.getClassName() === 'Dense');
    expect(dense).toHaveLength(1);
    expect(dense[0]!.getConfig().activation).toBe('linear');
    expect(m.outputs[0]!.shape).toEqual([null, 2]);
    m.dispose();
  });

  it('refuses a classification task and the exact solver with L1, naming the config path', () => {
    expect(() => buildModel({ type: 'linear' } as never, { inputs, task: { kind: 'binary' }, seed: 1 })).toThrow(/model\.type: linear regression needs a regression task; the task is binary/);
    expect(() =>
      buildModel({ type: 'linear', solver: 'exact', regularization: { l1: 0.1 } } as never, { inputs, task: { kind: 'regression', outputs: 1 }, seed: 1 }),
    ).toThrow(/model\.solver: the exact solver solves ridge \(L2\) only/);
  });
});

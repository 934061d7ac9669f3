import { TfpipeError } from '@tfpipe/core';
import { describe, expect, it } from 'vitest';
import { expandSweep, halvingRungs, meanStd, nextHalvingRung, parseSweep, setPath, getPath, parsePath, trialRow } from './index.js';

const base = {
  name: 'iris',
  seed: 42,
  data: { split: { validation: 0.2 } },
  model: { type: 'cnn', layers: [{ type: 'conv', filters: 8 }, { type: 'dense', units: 3 }] },
  train: { epochs: 5, optimizer: { type: 'adam', learningRate: 0.001 } },
};

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TfpipeError);
    return (e as TfpipeError).issues;
  }
  throw new Error('expected a TfpipeError');
}

describe('paths', () => {
  it('parses dotted paths with list indices', () => {
    expect(parsePath('model.layers[0].filters')).toEqual(['model', 'layers', 0, 'filters']);
    expect(() => parsePath('model..layers')).toThrow(/cannot read the config path/);
    expect(() => parsePath('a.__proto__.b')).toThrow(/not allowed/);
  });
  it('setPath is immutable and shares untouched branches', () => {
    const out = setPath(base, 'model.layers[0].filters', 32);
    expect(out.model.layers[0]!.filters).toBe(32);
    expect(base.model.layers[0]!.filters).toBe(8);
    expect(Array.isArray(out.model.layers)).toBe(true);
    expect(out.model.layers[1]).toBe(base.model.layers[1]);
    expect(out.train).toBe(base.train);
    expect(getPath(out, 'model.layers[0].type')).toBe('conv');
  });
  it('setPath creates missing levels', () => {
    expect(setPath({}, 'data.split.kfold', { k: 3, fold: 1 })).toEqual({ data: { split: { kfold: { k: 3, fold: 1 } } } });
    expect(setPath({}, 'a[1]', 5)).toEqual({ a: [undefined, 5] });
  });
});

describe('sweepSchema and parseSweep', () => {
  it('accepts every parameter form and fills defaults', () => {
    const s = parseSweep(
      {
        method: 'random',
        budget: 4,
        metric: 'val_accuracy',
        direction: 'max',
        parameters: {
          'train.optimizer.learningRate': { logUniform: [1e-4, 1e-2] },
          'model.layers[0].filters': [16, 32],
          'train.epochs': { int: [1, 3] },
          'model.layers[1].units': { choice: [3, 6] },
          'data.split.validation': { uniform: [0.1, 0.3] },
        },
      },
      base,
    );
    expect(s.retries).toEqual({ attempts: 2, backoffMs: 1000 });
    expect(s.onTrialFailure).toBe('fail');
  });
  it('names an unknown key and the nearest one', () => {
    const [issue] = issuesOf(() => parseSweep({ budjet: 3, metric: 'm', direction: 'max' }, base));
    expect(issue!.path).toEqual(['sweep', 'budjet']);
    expect(issue!.suggestion).toBe('budget');
  });
  it('explains a bad parameter spec', () => {
    const issues = issuesOf(() =>
      parseSweep(
        { metric: 'm', direction: 'max', method: 'random', budget: 2, parameters: { 'train.epochs': { loguniform: [1, 2] }, 'train.optimizer.learningRate': { uniform: [2, 1] } } },
        base,
      ),
    );
    expect(issues[0]!.path).toEqual(['sweep', 'parameters', 'train.epochs']);
    expect(issues[0]!.suggestion).toBe('logUniform');
    expect(issues[1]!.message).toMatch(/lower bound/);
    expect(issues[1]!.received).toEqual([2, 1]);
  });
  it('rejects a path missing from the base config, with did-you-mean over the keys at that level', () => {
    const issues = issuesOf(() =>
      parseSweep(
        { metric: 'm', direction: 'min', parameters: { 'train.optimzer.learningRate': [0.1], 'model.layers[5].filters': [1], 'train.epochs.x': [1] } },
        base,
      ),
    );
    expect(issues).toHaveLength(3);
    expect(issues[0]!.path).toEqual(['sweep', 'parameters', 'train.optimzer.learningRate']);
    expect(issues[0]!.message).toBe('"train" has no key "optimzer"');
    expect(issues[0]!.suggestion).toBe('train.optimizer');
    expect(issues[0]!.expected).toContain('"epochs"');
    expect(issues[1]!.message).toMatch(/2 item\(s\); index 5/);
    expect(issues[2]!.message).toMatch(/number value/);
  });
  it('cross-field checks: grid needs lists, random needs a budget, halving needs settings', () => {
    expect(issuesOf(() => parseSweep({ metric: 'm', direction: 'max', parameters: { 'train.epochs': { uniform: [1, 2] } } }, base))[0]!.message).toMatch(
      /grid needs a list/,
    );
    expect(issuesOf(() => parseSweep({ method: 'random', metric: 'm', direction: 'max', parameters: { 'train.epochs': [1] } }, base))[0]!.path).toEqual([
      'sweep',
      'budget',
    ]);
    expect(issuesOf(() => parseSweep({ method: 'halving', budget: 3, metric: 'm', direction: 'max', parameters: { 'train.epochs': [1] } }, base))[0]!.path).toEqual([
      'sweep',
      'halving',
    ]);
    expect(issuesOf(() => parseSweep({ metric: 'm', direction: 'up' }, base))[0]!.expected).toBe('"max" | "min"');
  });
});

describe('expandSweep', () => {
  const grid = {
    metric: 'val_accuracy',
    direction: 'max' as const,
    parameters: { 'train.optimizer.learningRate': [0.1, 0.01], 'model.layers[0].filters': [16, 32, 64] },
  };
  it('grid: the Cartesian product, first parameter slowest, configs overridden immutably', () => {
    const trials = expandSweep(base, grid);
    expect(trials.map((t) => [t.params['train.optimizer.learningRate'], t.params['model.layers[0].filters']])).toEqual([
      [0.1, 16],
      [0.1, 32],
      [0.1, 64],
      [0.01, 16],
      [0.01, 32],
      [0.01, 64],
    ]);
    expect(trials.map((t) => t.id)).toEqual(['trial-000', 'trial-001', 'trial-002', 'trial-003', 'trial-004', 'trial-005']);
    const t4 = trials[4]!.config as typeof base;
    expect(t4.train.optimizer.learningRate).toBe(0.01);
    expect(t4.model.layers[0]!.filters).toBe(32);
    expect(t4.seed).toBe(trials[4]!.seed);
    expect(base.train.optimizer.learningRate).toBe(0.001);
    expect(new Set(trials.map((t) => t.seed)).size).toBe(6);
  });
  it('is deterministic in the seed', () => {
    const a = expandSweep(base, grid);
    const b = expandSweep(base, grid);
    const c = expandSweep(base, { ...grid, seed: 7 });
    expect(b).toEqual(a);
    expect(c.map((t) => t.seed)).not.toEqual(a.map((t) => t.seed));
  });
  it('grid larger than the budget: a seeded subset, in grid order', () => {
    const all = expandSweep(base, grid).map((t) => JSON.stringify(t.params));
    const some = expandSweep(base, { ...grid, budget: 4 }).map((t) => JSON.stringify(t.params));
    expect(some).toHaveLength(4);
    expect(new Set(some).size).toBe(4);
    const positions = some.map((p) => all.indexOf(p));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
  it('random: draws inside the bounds, log-uniform over decades', () => {
    const trials = expandSweep(base, {
      method: 'random',
      budget: 2000,
      metric: 'm',
      direction: 'max',
      parameters: {
        'train.optimizer.learningRate': { logUniform: [1e-4, 1e-2] },
        'train.epochs': { int: [1, 3] },
        'model.layers[0].type': { choice: ['conv', 'sep'] },
      },
    });
    const lrs = trials.map((t) => t.params['train.optimizer.learningRate'] as number);
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...lrs)).toBeLessThan(1e-2);
    // log10 is uniform on [-4, -2]: mean -3, and a quarter of the mass below -3.5.
    const logs = lrs.map(Math.log10);
    expect(logs.reduce((a, b) => a + b, 0) / logs.length).toBeCloseTo(-3, 1);
    expect(logs.filter((l) => l < -3.5).length / logs.length).toBeCloseTo(0.25, 1);
    const epochs = new Set(trials.map((t) => t.params['train.epochs']));
    expect([...epochs].sort()).toEqual([1, 2, 3]);
    expect(new Set(trials.map((t) => t.params['model.layers[0].type']))).toEqual(new Set(['conv', 'sep']));
  });
  it('kfold: k trials per point sharing the seed, each setting data.split.kfold', () => {
    const trials = expandSweep(base, { metric: 'm', direction: 'max', kfold: 3, parameters: { 'train.epochs': [1, 2] } });
    expect(trials).toHaveLength(6);
    expect(trials.map((t) => t.id)).toContain('trial-001-fold-2');
    // As @tfpipe/data's split reads it: kfold: k, fold: i, and the validation fraction dropped (the fold is it).
    expect(trials.map((t) => (t.config as typeof base).data.split)).toEqual(
      [0, 1, 2, 0, 1, 2].map((fold) => ({ kfold: 3, fold, validation: 0 })),
    );
    expect(trials[1]!.overrides).toEqual({ 'train.epochs': 1, 'data.split.kfold': 3, 'data.split.fold': 1, 'data.split.validation': 0 });
    expect(trials[0]!.seed).toBe(trials[2]!.seed);
    expect(trials[0]!.seed).not.toBe(trials[3]!.seed);
    expect(base.data.split.validation).toBe(0.2);
    const noValidation = expandSweep({ ...base, data: {} }, { metric: 'm', direction: 'max', kfold: 2 });
    expect(noValidation.map((t) => t.overrides)).toEqual([
      { 'data.split.kfold': 2, 'data.split.fold': 0 },
      { 'data.split.kfold': 2, 'data.split.fold': 1 },
    ]);
  });
  it('reads sweep: from the config and leaves it out of the trial configs', () => {
    const withSweep = { ...base, sweep: { metric: 'm', direction: 'max', parameters: { 'train.epochs': [1, 2] } } };
    const trials = expandSweep(withSweep);
    expect(trials.map((t) => 'sweep' in (t.config as object))).toEqual([false, false]);
    expect(withSweep.sweep.parameters['train.epochs']).toEqual([1, 2]);
  });
  it('a swept seed is the trial seed', () => {
    const trials = expandSweep(base, { metric: 'm', direction: 'max', parameters: { seed: [1, 2, 3] } });
    expect(trials.map((t) => t.seed)).toEqual([1, 2, 3]);
    expect(trials.map((t) => (t.config as typeof base).seed)).toEqual([1, 2, 3]);
  });
});

describe('successive halving', () => {
  it('plans rungs by hand: n / eta^k points with min * eta^k resource', () => {
    expect(halvingRungs(9, { min: 1, max: 9, eta: 3 })).toEqual([
      { rung: 0, points: 9, resource: 1 },
      { rung: 1, points: 3, resource: 3 },
      { rung: 2, points: 1, resource: 9 },
    ]);
    expect(halvingRungs(10, { min: 2, max: 5, eta: 2 })).toEqual([
      { rung: 0, points: 10, resource: 2 },
      { rung: 1, points: 5, resource: 4 },
    ]);
  });
  it('promotes the best third, failed points never', () => {
    const sweep = parseSweep(
      {
        method: 'halving',
        budget: 9,
        metric: 'acc',
        direction: 'max',
        halving: { resource: 'train.epochs', min: 1, max: 9, eta: 3 },
        parameters: { 'train.optimizer.learningRate': { logUniform: [1e-4, 1e-1] } },
      },
      base,
    );
    const rung0 = expandSweep(base, sweep);
    expect(rung0.every((t) => (t.config as typeof base).train.epochs === 1 && t.rung === 0)).toBe(true);
    const accs = [0.5, 0.9, 0.1, 0.7, 0.95, 0.3, 0.2, 0.8, 0.6];
    const rows = rung0.map((t, i) =>
      trialRow(t, 'acc', {
        id: t.id,
        index: t.index,
        status: i === 4 ? 'failed' : 'completed',
        metrics: { acc: accs[i]! },
        runDir: '',
        durationMs: 1,
        attempts: 1,
      }),
    );
    const next = nextHalvingRung(base, sweep, 0, rows, rung0, 9)!;
    // 0.95 failed; the best three completed are 0.9 (point 1), 0.8 (point 7), 0.7 (point 3).
    expect(next.map((t) => t.point)).toEqual([1, 7, 3]);
    expect(next.map((t) => t.id)).toEqual(['trial-001-rung-1', 'trial-007-rung-1', 'trial-003-rung-1']);
    expect(next.map((t) => t.index)).toEqual([9, 10, 11]);
    expect(next.every((t) => (t.config as typeof base).train.epochs === 3)).toBe(true);
    expect(next[0]!.seed).toBe(rung0[1]!.seed);
    expect(next[0]!.params).toEqual(rung0[1]!.params);
  });
});

describe('meanStd', () => {
  it('is the mean and population std, by hand', () => {
    const { mean, std } = meanStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(Math.sqrt((2.25 + 0.25 + 0.25 + 2.25) / 4), 12);
  });
});

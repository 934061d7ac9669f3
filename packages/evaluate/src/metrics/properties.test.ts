import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { TaskSpec } from '@tfpipe/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetric } from './registry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const binary: TaskSpec = { kind: 'binary' };
// Scores on a coarse grid so ties are common.
const sample = fc.record({ label: fc.integer({ min: 0, max: 1 }), score: fc.integer({ min: 0, max: 8 }).map((s) => s / 8), weight: fc.integer({ min: 1, max: 3 }) });

function metricOf(name: string, rows: { label: number; score: number; weight: number }[], split: number, weighted: boolean): number {
  const m = createMetric(name, binary);
  for (const part of [rows.slice(0, split), rows.slice(split)]) {
    if (part.length === 0) continue;
    tf.tidy(() =>
      m.update(
        tf.tensor2d(part.map((r) => r.label), [part.length, 1]),
        tf.tensor2d(part.map((r) => r.score), [part.length, 1]),
        weighted ? tf.tensor1d(part.map((r) => r.weight)) : undefined,
      ),
    );
  }
  return m.result();
}

describe('ranking metrics against their definitions', () => {
  it('ROC AUC is the weighted share of (positive, negative) pairs ranked right, ties half', () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 2, maxLength: 40 }), fc.nat(), fc.boolean(), (rows, cut, weighted) => {
        const pos = rows.filter((r) => r.label === 1);
        const neg = rows.filter((r) => r.label === 0);
        const w = (r: { weight: number }) => (weighted ? r.weight : 1);
        let num = 0;
        let den = 0;
        for (const p of pos) {
          for (const n of neg) {
            den += w(p) * w(n);
            num += w(p) * w(n) * (p.score > n.score ? 1 : p.score === n.score ? 0.5 : 0);
          }
        }
        const auc = metricOf('rocAuc', rows, cut % (rows.length + 1), weighted);
        if (den === 0) expect(auc).toBeNaN();
        else expect(auc).toBeCloseTo(num / den, 9);
      }),
      { numRuns: 150, seed: 42 },
    );
  });

  it('average precision is the mean, over positives, of precision at their score (weighted by the positive)', () => {
    // With ties, every sample with a score >= s is "retrieved" at threshold s (scikit-learn's definition).
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 40 }), fc.nat(), (rows, cut) => {
        const pos = rows.filter((r) => r.label === 1);
        let num = 0;
        for (const p of pos) {
          const retrieved = rows.filter((r) => r.score >= p.score);
          num += retrieved.filter((r) => r.label === 1).length / retrieved.length;
        }
        const ap = metricOf('prAuc', rows, cut % (rows.length + 1), false);
        if (pos.length === 0) expect(ap).toBeNaN();
        else expect(ap).toBeCloseTo(num / pos.length, 9);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});

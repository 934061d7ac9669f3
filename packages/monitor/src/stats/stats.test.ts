import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kolmogorovSf } from './kolmogorov.js';
import { chi2Sf, roundHalfEven } from './special.js';
import {
  binnedShares,
  chiSquareDrift,
  jensenShannon,
  ks2samp,
  psi,
  psiBand,
  sturgesEdges,
  wasserstein,
  wassersteinNormed,
  zTestDrift,
} from './tests.js';

// Frozen by scripts/scipy-fixtures.py (SciPy 1.10 / NumPy 1.24 from Debian's python3-scipy).
const fx = JSON.parse(readFileSync(new URL('../__fixtures__/scipy.json', import.meta.url), 'utf8'));

/** |a - b| <= abs + rel·|b|. */
function close(actual: number, expected: number, rel = 1e-9, abs = 1e-14): void {
  if (!Number.isFinite(expected)) {
    expect(actual).toBe(expected);
    return;
  }
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(abs + rel * Math.abs(expected));
}

const toMap = (o: Record<string, number>) => new Map(Object.entries(o));

describe('drift statistics against SciPy', () => {
  it('kstwo.sf over every branch of the Simard-L\'Ecuyer composition', () => {
    expect(fx.kstwo_sf.length).toBeGreaterThan(150);
    for (const c of fx.kstwo_sf as { n: number; x: number; sf: number }[]) {
      close(kolmogorovSf(c.n, c.x), c.sf, 1e-9, 1e-15);
    }
  });

  it('ks_2samp(method="asymp"): statistic and p-value', () => {
    for (const c of fx.ks_2samp_asymp as { name: string; a: number[]; b: number[]; statistic: number; pvalue: number }[]) {
      const r = ks2samp(c.a, c.b);
      close(r.statistic, c.statistic, 1e-12);
      close(r.pValue, c.pvalue, 1e-9, 1e-15);
    }
    // The shifted pairs are the significant ones at 0.05, the equal ones are not.
    const byName = Object.fromEntries((fx.ks_2samp_asymp as { name: string; pvalue: number }[]).map((c) => [c.name, c.pvalue]));
    expect(byName['large shifted']).toBeLessThan(0.05);
    expect(byName['large equal']).toBeGreaterThan(0.05);
  });

  it('chisquare with Evidently\'s expected counts, and chi2.sf', () => {
    for (const c of fx.chisquare_evidently as { reference: Record<string, number>; current: Record<string, number>; statistic: number; pvalue: number }[]) {
      const r = chiSquareDrift(toMap(c.reference), toMap(c.current));
      close(r.statistic, c.statistic, 1e-10);
      close(r.pValue, c.pvalue, 1e-8, 1e-14);
    }
    for (const c of fx.chi2_sf as { x: number; df: number; sf: number }[]) close(chi2Sf(c.x, c.df), c.sf, 1e-9, 1e-15);
  });

  it('a category only the current data has is drift with p = 0', () => {
    const r = chiSquareDrift(new Map([['a', 10], ['b', 10]]), new Map([['a', 5], ['b', 5], ['c', 1]]));
    expect(r.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(r.pValue).toBe(0);
  });

  it('two-proportion z-test as Evidently runs it', () => {
    for (const c of fx.ztest_evidently as { reference: Record<string, number>; current: Record<string, number>; statistic: number; pvalue: number }[]) {
      const r = zTestDrift(toMap(c.reference), toMap(c.current));
      close(r.statistic, c.statistic, 1e-10);
      // SciPy computes 2 (1 - Φ(|z|)) by subtraction: about 1e-16 absolute.
      close(r.pValue, c.pvalue, 1e-8, 1e-14);
    }
    expect(zTestDrift(new Map([['x', 4]]), new Map([['x', 9]])).pValue).toBe(1);
  });

  it('wasserstein_distance, and normed by the reference std', () => {
    for (const c of fx.wasserstein as { a: number[]; b: number[]; distance: number; normed: number }[]) {
      close(wasserstein(c.a, c.b), c.distance, 1e-10);
      close(wassersteinNormed(c.a, c.b), c.normed, 1e-10);
    }
  });

  it('jensenshannon on weight vectors', () => {
    for (const c of fx.jensenshannon as { p: number[]; q: number[]; distance: number }[]) close(jensenShannon(c.p, c.q), c.distance, 1e-10, 1e-12);
  });

  it('Jensen-Shannon and PSI over Evidently\'s get_binned_data (Sturges bins or values)', () => {
    for (const c of fx.binned_evidently as { name: string; a: (number | string)[]; b: (number | string)[]; numeric: boolean; jensenshannon: number; psi: number; edges: number[] | null }[]) {
      if (c.edges) {
        const edges = sturgesEdges([...(c.a as number[]), ...(c.b as number[])]);
        expect(edges.length, c.name).toBe(c.edges.length);
        for (const [i, e] of edges.entries()) close(e, c.edges![i]!, 1e-12, 1e-12);
      }
      const raw = binnedShares(c.a, c.b, c.numeric, false);
      close(jensenShannon(raw.reference, raw.current), c.jensenshannon, 1e-9, 1e-12);
      const filled = binnedShares(c.a, c.b, c.numeric, true);
      close(psi(filled.reference, filled.current), c.psi, 1e-9, 1e-12);
    }
  });

  it('PSI bands and NumPy rounding', () => {
    expect([psiBand(0.05), psiBand(0.1), psiBand(0.2), psiBand(0.25), psiBand(1)]).toEqual(['none', 'moderate', 'moderate', 'major', 'major']);
    expect([0.5, 1.5, 2.5, 3.4, 3.6].map(roundHalfEven)).toEqual([0, 2, 2, 3, 4]);
  });
});

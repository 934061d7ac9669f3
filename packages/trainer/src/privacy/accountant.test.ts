import { describe, expect, it } from 'vitest';
import { DEFAULT_RDP_ORDERS, dpSgdEpsilon, dpSgdSteps, logErfc, noiseForEpsilon, rdpOfStep } from './accountant.js';

// TensorFlow Privacy's published MNIST table (60,000 examples, batch 256, delta 1e-5; tutorials/README.md and
// the figures), computed by its RDP accountant with the classic RDP -> (eps, delta) conversion.
const MNIST = { datasetSize: 60_000, batchSize: 256, delta: 1e-5 } as const;
const PUBLISHED: Array<[noise: number, epochs: number, epsilon: number]> = [
  [1.12, 60, 2.92],
  [0.6, 30, 9.74],
  [1.2, 10, 1.2],
  [1.1, 60, 3.01],
  [1.3, 15, 1.19],
  [0.7, 45, 7.1],
];

describe('RDP accountant (sampled Gaussian mechanism)', () => {
  it.each(PUBLISHED)('noise %f for %i epochs gives the published epsilon %f (classic conversion, within 2%%)', (noise, epochs, eps) => {
    const steps = dpSgdSteps(epochs, MNIST.datasetSize, MNIST.batchSize);
    const got = dpSgdEpsilon(steps, { ...MNIST, noiseMultiplier: noise, conversion: 'classic' }).epsilon;
    expect(Math.abs(got - eps) / eps).toBeLessThan(0.02);
  });

  it('the improved conversion is never larger than the classic one, and strictly smaller here', () => {
    for (const [noise, epochs] of PUBLISHED) {
      const steps = dpSgdSteps(epochs, MNIST.datasetSize, MNIST.batchSize);
      const classic = dpSgdEpsilon(steps, { ...MNIST, noiseMultiplier: noise, conversion: 'classic' }).epsilon;
      const improved = dpSgdEpsilon(steps, { ...MNIST, noiseMultiplier: noise }).epsilon;
      expect(improved).toBeLessThan(classic);
      expect(improved).toBeGreaterThan(0.5 * classic);
    }
  });

  it('epsilon grows with steps and falls with noise', () => {
    const e = (steps: number, noise: number) => dpSgdEpsilon(steps, { ...MNIST, noiseMultiplier: noise }).epsilon;
    expect(e(2000, 1.1)).toBeLessThan(e(4000, 1.1));
    expect(e(2000, 1.5)).toBeLessThan(e(2000, 1.1));
    expect(e(0, 1.1)).toBe(0);
  });

  it('the integer and fractional series agree where they meet (two independent formulas)', () => {
    const q = 256 / 60_000;
    for (const sigma of [0.6, 1.1, 2])
      for (const a of [2, 3, 8, 20]) {
        const r = rdpOfStep(q, sigma, a);
        expect(rdpOfStep(q, sigma, a - 1e-7)).toBeCloseTo(r, 6);
        expect(rdpOfStep(q, sigma, a + 1e-7)).toBeCloseTo(r, 6);
      }
  });

  it('without subsampling it is the Gaussian mechanism: alpha / (2 sigma^2)', () => {
    expect(rdpOfStep(1, 2, 5)).toBeCloseTo(5 / 8, 15);
  });

  it('log erfc matches reference values to near double precision', () => {
    const ref: Array<[number, number]> = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1.9, 0.007209570764742524],
      [3, 2.209049699858544e-5],
      [10, 2.088487583762545e-45],
      [-1, 1.8427007929497148],
    ];
    for (const [x, v] of ref) expect(Math.abs(Math.exp(logErfc(x)) / v - 1)).toBeLessThan(1e-9);
    // Far in the tail, where erfc itself underflows, the log stays finite.
    expect(logErfc(40)).toBeCloseTo(-1600 - Math.log(40 * Math.sqrt(Math.PI)), 3);
  });

  it('targetEpsilon solves for the noise: the published setting comes back', () => {
    const steps = dpSgdSteps(10, MNIST.datasetSize, MNIST.batchSize);
    const sigma = noiseForEpsilon(1.2, steps, { ...MNIST, conversion: 'classic' });
    expect(sigma).toBeGreaterThan(1.19);
    expect(sigma).toBeLessThan(1.21);
    expect(dpSgdEpsilon(steps, { ...MNIST, noiseMultiplier: sigma, conversion: 'classic' }).epsilon).toBeLessThanOrEqual(1.2);
  });

  it('default orders are those of TensorFlow Privacy', () => {
    expect(DEFAULT_RDP_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DEFAULT_RDP_ORDERS).toContain(10.9);
    expect(DEFAULT_RDP_ORDERS).toContain(63);
    expect(DEFAULT_RDP_ORDERS.at(-1)).toBe(512);
  });
});

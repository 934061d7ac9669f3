/** How the path integral of integrated gradients is approximated (Captum's names, kebab-case). */
export const INTEGRATION_METHODS = [
  'gauss-legendre',
  'riemann-left',
  'riemann-right',
  'riemann-middle',
  'riemann-trapezoid',
] as const;
export type IntegrationMethod = (typeof INTEGRATION_METHODS)[number];

/** Points α in [0, 1] and weights w such that ∫₀¹ g(α) dα ≈ Σ wᵢ g(αᵢ). */
export interface Quadrature {
  alphas: number[];
  weights: number[];
}

/** The `steps`-point rule for `method` on [0, 1]. */
export function quadrature(method: IntegrationMethod, steps: number): Quadrature {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be an integer >= 1; received ${steps}`);
  const n = steps;
  const idx = Array.from({ length: n }, (_, i) => i);
  switch (method) {
    case 'riemann-left':
      return { alphas: idx.map((i) => i / n), weights: idx.map(() => 1 / n) };
    case 'riemann-right':
      return { alphas: idx.map((i) => (i + 1) / n), weights: idx.map(() => 1 / n) };
    case 'riemann-middle':
      return { alphas: idx.map((i) => (i + 0.5) / n), weights: idx.map(() => 1 / n) };
    case 'riemann-trapezoid': {
      if (n < 2) throw new RangeError('riemann-trapezoid needs steps >= 2');
      const h = 1 / (n - 1);
      return {
        alphas: idx.map((i) => i * h),
        weights: idx.map((i) => (i === 0 || i === n - 1 ? h / 2 : h)),
      };
    }
    case 'gauss-legendre':
      return gaussLegendre(n);
  }
}

/** P_n(z) by the three-term recurrence, and its derivative P_n'(z). */
function legendre(n: number, z: number): { p: number; dp: number } {
  let p1 = 1;
  let p2 = 0;
  for (let j = 1; j <= n; j++) {
    const p3 = p2;
    p2 = p1;
    p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
  }
  return { p: p1, dp: (n * (z * p1 - p2)) / (z * z - 1) };
}

/**
 * Gauss–Legendre nodes and weights on [0, 1]: Newton's method on the Legendre polynomial P_n, from the Chebyshev
 * guesses (Numerical Recipes' gauleg). Exact for polynomials of degree <= 2n − 1.
 */
export function gaussLegendre(n: number): Quadrature {
  const alphas = new Array<number>(n);
  const weights = new Array<number>(n);
  const m = Math.floor((n + 1) / 2);
  for (let i = 0; i < m; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const { p, dp } = legendre(n, z);
      const z1 = z;
      z = z1 - p / dp;
      if (Math.abs(z - z1) < 1e-15) break;
    }
    // The derivative at the converged node, for the weight.
    const { dp } = legendre(n, z);
    const w = 2 / ((1 - z * z) * dp * dp);
    // nodes on [-1, 1] → [0, 1]; weights halve
    alphas[i] = (1 - z) / 2;
    alphas[n - 1 - i] = (1 + z) / 2;
    weights[i] = w / 2;
    weights[n - 1 - i] = w / 2;
  }
  return { alphas, weights };
}

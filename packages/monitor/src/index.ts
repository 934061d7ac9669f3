export { ks2samp, chiSquare, chiSquareDrift, zTestDrift, wasserstein, wassersteinNormed, jensenShannon, psi, psiBand, binnedShares, countShares, sturgesEdges, equalEdges, histogram, std } from './stats/tests.js';
export type { KsResult, ChiSquareResult, Binned } from './stats/tests.js';
export { kolmogorovSf, smirnovSf } from './stats/kolmogorov.js';
export { chi2Sf, gammaQ, logGamma } from './stats/special.js';

export {
  ks2samp,
  ks2sampSorted,
  chiSquare,
  chiSquareDrift,
  zTestDrift,
  wasserstein,
  wassersteinSorted,
  wassersteinNormed,
  jensenShannon,
  psi,
  psiBand,
  binnedShares,
  countShares,
  countValues,
  distinctSorted,
  sortedCopy,
  sturgesEdges,
  sturgesEdgesOf,
  equalEdges,
  histogram,
  std,
} from './stats/tests.js';
export type { KsResult, ChiSquareResult, Binned } from './stats/tests.js';
export { kolmogorovSf, smirnovSf } from './stats/kolmogorov.js';
export { chi2Sf, gammaQ, logGamma } from './stats/special.js';
export { profileRows, profileLike, PredictionSketch, writeProfile, readProfile, PROFILE_FILE, PROFILE_VERSION, DEFAULT_SAMPLE_SIZE } from './profile/profile.js';
export type { Profile, ProfileOptions, PredictionProfile, Prediction } from './profile/profile.js';
export { words } from './profile/sketch.js';
export type { ColumnProfile, NumericProfile, CategoricalProfile, TextProfile, ImageProfile, SkippedProfile } from './profile/sketch.js';
export { driftSchema, columnDriftSchema, DEFAULT_THRESHOLDS, P_VALUE_METHODS, NUMERIC_METHODS, CATEGORICAL_METHODS } from './drift/schema.js';
export type { DriftConfig, DriftInput, DriftMethod } from './drift/schema.js';
export { detectDrift } from './drift/detect.js';
export type { DriftReport, ColumnDrift, PlotBin, SideSummary } from './drift/detect.js';
export { driftHtml, histogramSpec } from './drift/html.js';
export { writeDriftReport, DRIFT_FILES } from './drift/write.js';
export { readRequestLog, logSegments, feedbackAccuracy } from './drift/request-log.js';
export { decodeImageCells } from './drift/images.js';
export type { RequestLog, LoggedRequest, FeedbackAccuracy } from './drift/request-log.js';

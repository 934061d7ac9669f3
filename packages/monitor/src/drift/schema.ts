import { z } from 'zod';

export const NUMERIC_METHODS = ['auto', 'ks', 'wasserstein', 'jensenshannon', 'psi', 'chisquare', 'z'] as const;
export const CATEGORICAL_METHODS = ['auto', 'chisquare', 'z', 'jensenshannon', 'psi'] as const;
export type DriftMethod = Exclude<(typeof NUMERIC_METHODS)[number], 'auto'>;

/** Methods whose score is a p-value (drift when below the threshold); the others are distances (drift at or above it). */
export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chisquare', 'z']);
/** Evidently's default thresholds. */
export const DEFAULT_THRESHOLDS: Record<DriftMethod, number> = { ks: 0.05, chisquare: 0.05, z: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1 };

const methodSchema = z.enum(NUMERIC_METHODS);

export const columnDriftSchema = z
  .object({
    method: methodSchema.optional().describe('test for this column (default: the rule for its kind)'),
    threshold: z.number().positive().optional().describe('p-value below which (or distance at or above which) the column drifts'),
  })
  .strict();

/** How drift is decided. Defaults are Evidently's. */
export const driftSchema = z
  .object({
    numeric: methodSchema
      .default('auto')
      .describe('test for number columns; auto: KS with up to referenceRows reference rows, normed Wasserstein above, value tests for 5 or fewer distinct values'),
    categorical: z
      .enum(CATEGORICAL_METHODS)
      .default('auto')
      .describe('test for category columns; auto: chi-squared (z-test for two values) with up to referenceRows reference rows, Jensen-Shannon above'),
    threshold: z.number().positive().optional().describe('one threshold for every column instead of each method\'s default (0.05 p-value, 0.1 distance)'),
    referenceRows: z.number().int().positive().default(1000).describe('reference sizes up to this use the p-value tests, above it the distances'),
    share: z.number().gt(0).lte(1).default(0.5).describe('dataset drift when at least this share of the checked columns drift'),
    prediction: z
      .enum(['report', 'alarm', 'off'])
      .default('report')
      .describe('prediction drift: reported only, also an alarm (exit code), or not checked'),
    columns: z.record(z.string(), columnDriftSchema).default({}).describe('per-column method and threshold, by column (or check) name'),
  })
  .strict();

export type DriftConfig = z.output<typeof driftSchema>;
export type DriftInput = z.input<typeof driftSchema>;

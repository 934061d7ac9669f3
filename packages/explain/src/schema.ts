import { z } from 'zod';
import { INTEGRATION_METHODS } from './quadrature.js';

export const EXPLAIN_METHODS = ['permutation', 'integrated-gradients', 'grad-cam'] as const;
export type ExplainMethod = (typeof EXPLAIN_METHODS)[number];

/** `explain:` in the pipeline YAML: what the run's report explains, on the test split. */
export const explainSchema = z
  .object({
    methods: z
      .array(z.enum(EXPLAIN_METHODS))
      .min(1)
      .default(['permutation', 'integrated-gradients'])
      .describe(
        'permutation: global importance per column (any model); integrated-gradients: per example, per column / token / pixel; grad-cam: heat maps for convolutional image models',
      ),
    examples: z.number().int().min(0).max(200).default(8).describe('How many test examples to explain one by one'),
    select: z
      .enum(['most-wrong', 'random', 'per-class'])
      .default('most-wrong')
      .describe('Which examples: lowest probability given to the true class first, a seeded random draw, or as many of each class'),
    steps: z.number().int().min(1).max(1000).default(50).describe('Integrated gradients: points on the path'),
    integration: z.enum(INTEGRATION_METHODS).default('gauss-legendre').describe('Integrated gradients: the quadrature rule'),
    baseline: z.enum(['zeros', 'blur']).default('zeros').describe('Integrated gradients: zeros, or a Gaussian blur of the image'),
    logits: z.boolean().default(false).describe('Explain the output layer before its sigmoid / softmax (smoother, fewer steps)'),
    layer: z.string().min(1).optional().describe('Grad-CAM: the convolution to use (default: the last one)'),
    repeats: z.number().int().min(1).max(100).default(5).describe('Permutation importance: shuffles per column (mean ± std)'),
    metric: z.string().min(1).optional().describe('Permutation importance: the metric (default: the first of evaluate.metrics)'),
    maxRows: z.number().int().min(2).default(2000).describe('Permutation importance: test rows used at most'),
  })
  .strict()
  .describe('Explanations in the report: global importance per column, attributions for selected test examples');

export type ExplainConfig = z.output<typeof explainSchema>;
export type ExplainInput = z.input<typeof explainSchema>;

import { z } from 'zod';

export const privacySchema = z
  .object({
    type: z.literal('dp-sgd').describe('Differentially private SGD (Abadi et al. 2016), accounted with Rényi DP'),
    l2NormClip: z.number().gt(0).describe('Each example\'s (microbatch\'s) gradient over all trainable weights together is scaled down to this L2 norm'),
    noiseMultiplier: z.number().min(0).optional().describe('Std of the Gaussian noise added to the sum of clipped gradients, as a multiple of l2NormClip (give this or targetEpsilon)'),
    targetEpsilon: z.number().gt(0).optional().describe('Solve for the smallest noise multiplier that keeps epsilon at most this after train.epochs'),
    delta: z.number().gt(0).lt(1).default(1e-5).describe('The delta of (epsilon, delta)-DP; keep it below 1 / training examples'),
    microbatches: z.number().int().min(1).optional().describe('Microbatches per batch (default: one example each, i.e. per-example clipping)'),
    sampling: z
      .enum(['poisson', 'shuffle'])
      .default('poisson')
      .describe('poisson: every example is in each step\'s batch with probability batchSize / N, as the accountant assumes; shuffle: fixed-size shuffled batches (the common practice; the reported epsilon then assumes Poisson sampling)'),
    maxEpsilon: z.number().gt(0).optional().describe('Privacy budget: training stops before a step would take epsilon above it'),
    conversion: z.enum(['improved', 'classic']).default('improved').describe('RDP → (epsilon, delta): improved (Canonne et al. 2020, what TF Privacy computes today) or classic (Mironov 2017, TF Privacy\'s published tables)'),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.noiseMultiplier === undefined) === (v.targetEpsilon === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of noiseMultiplier or targetEpsilon', path: ['noiseMultiplier'], input: v });
    }
  })
  .describe('Differentially private training: per-example clipping, Gaussian noise, a privacy accountant reporting epsilon per epoch');

export type PrivacyConfig = z.infer<typeof privacySchema>;

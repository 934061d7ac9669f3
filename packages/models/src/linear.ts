import { formatPath, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import { type EncodeContext, flattenIfNeeded, shapeError, weightOptionsShape } from './_common.js';
import type { ModelBuilder } from './builder.js';
import { outputSchema } from './heads.js';

export const linearSchema = z
  .object({
    type: z.literal('linear'),
    output: outputSchema.optional().describe('Output layer overrides'),
    solver: z
      .enum(['gradient', 'exact'])
      .default('gradient')
      .describe(
        'gradient: trained by train.optimizer like any model; exact: solved once, in closed form, on the whole training split (ridge normal equations, as scikit-learn\'s Ridge; needs no L1). `regularization.l2` is the ridge penalty on the kernel (the intercept is not penalized).',
      ),
    ...weightOptionsShape,
  })
  .strict()
  .describe(
    'Linear regression: one dense layer, no activation, on the (flattened) features. With regularization l1/l2: lasso / ridge / elastic net.',
  );
export type LinearConfig = z.infer<typeof linearSchema>;

function encode(_config: LinearConfig, input: import('@tensorflow/tfjs-layers').SymbolicTensor, ctx: EncodeContext) {
  if (ctx.spec.kind === 'text') throw shapeError(ctx, 'linear regression needs numeric features', 'an image, tabular or sequence input');
  return flattenIfNeeded(input, ctx);
}

export const linearBuilder: ModelBuilder<LinearConfig> = {
  type: 'linear',
  schema: linearSchema,
  description: 'Linear regression (ridge, lasso, elastic net), by gradient or solved exactly',
  encode,
  build(config, ctx) {
    if (ctx.task.kind !== 'regression') {
      const path = [...ctx.path, 'type'];
      throw new TfpipeError('E_CONFIG', `${formatPath(path)}: linear regression needs a regression task; the task is ${ctx.task.kind}`, {
        path,
        issues: [{ path, message: 'linear needs a regression task', received: ctx.task.kind, expected: 'regression' }],
        hint: 'Use type: logistic for a linear classifier.',
      });
    }
    if (config.solver === 'exact' && (config.regularization?.l1 ?? 0) > 0) {
      const path = [...ctx.path, 'solver'];
      throw new TfpipeError('E_CONFIG', `${formatPath(path)}: the exact solver solves ridge (L2) only; regularization.l1 is ${config.regularization!.l1}`, {
        path,
        issues: [{ path, message: 'exact needs l1 = 0', received: 'exact', expected: 'gradient (for lasso / elastic net)' }],
      });
    }
    return assemble(config, ctx, 'linear', encode);
  },
};

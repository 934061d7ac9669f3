import { formatPath, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { assemble } from './_assemble.js';
import { type EncodeContext, flattenIfNeeded, shapeError, weightOptionsShape } from './_common.js';
import type { ModelBuilder } from './builder.js';
import { outputSchema } from './heads.js';

export const logisticSchema = z
  .object({
    type: z.literal('logistic'),
    output: outputSchema.optional().describe('Output layer overrides'),
    ...weightOptionsShape,
  })
  .strict()
  .describe(
    'Logistic regression: one dense layer on the (flattened) features. Binary: sigmoid; multiclass: softmax (multinomial).',
  );
export type LogisticConfig = z.infer<typeof logisticSchema>;

function encode(
  _config: LogisticConfig,
  input: import('@tensorflow/tfjs-layers').SymbolicTensor,
  ctx: EncodeContext,
) {
  if (ctx.spec.kind === 'text')
    throw shapeError(
      ctx,
      'logistic regression needs numeric features',
      'an image, tabular or sequence input',
    );
  return flattenIfNeeded(input, ctx);
}

export const logisticBuilder: ModelBuilder<LogisticConfig> = {
  type: 'logistic',
  schema: logisticSchema,
  description: 'Logistic regression (binary and multinomial)',
  encode,
  build(config, ctx) {
    if (ctx.task.kind === 'regression') {
      const path = [...ctx.path, 'type'];
      throw new TfpipeError(
        'E_CONFIG',
        `${formatPath(path)}: logistic regression is a classifier; the task is regression`,
        {
          path,
          issues: [
            {
              path,
              message: 'logistic needs a classification task',
              received: 'regression',
              expected: 'binary | multiclass | multilabel',
            },
          ],
          hint: 'Use type: linear for linear regression.',
        },
      );
    }
    return assemble(config, ctx, 'logistic', encode);
  },
};

import * as tfl from '@tensorflow/tfjs-layers';
import { didYouMean, formatPath, type Issue, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { makeInput } from './_assemble.js';
import {
  type BuildContext,
  childContext,
  flattenIfNeeded,
  kernelOptions,
  weightOptionsShape,
} from './_common.js';
import type { ModelBuilder } from './builder.js';
import {
  applyHead,
  HEAD_DEFAULT,
  headSchema,
  namedOutputSchema,
  outputLayer,
  outputSchema,
  resolveOutputTasks,
} from './heads.js';
import { AttentionPooling } from './layers/pooling.js';
import { parseEntryConfig, validateModelConfig } from './validate.js';

export const fusionSchema = z
  .object({
    type: z.literal('fusion'),
    inputs: z
      .record(z.string(), z.object({ type: z.string().describe('Encoder model type') }).loose())
      .describe(
        'One encoder per named input (keys = InputSpec names): any model type used without its output head',
      ),
    combiner: z
      .enum(['concat', 'attention'])
      .default('concat')
      .describe(
        'concat: join the encodings; attention: project each to attentionDim and pool with learned attention weights',
      ),
    attentionDim: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe('Projection width of each encoding for the attention combiner'),
    head: headSchema
      .default(HEAD_DEFAULT)
      .describe('Hidden dense layers after the combiner, shared by all outputs'),
    output: outputSchema.optional().describe('Output layer overrides (single output)'),
    outputs: z
      .record(z.string(), namedOutputSchema)
      .optional()
      .describe(
        'Several named outputs, e.g. a class and a regression target, each with its task and loss weight; default: one output named "output" for the task',
      ),
    ...weightOptionsShape,
  })
  .strict()
  .describe(
    'Multi-input fusion: an encoder per input, a combiner, shared hidden layers, one or several output heads',
  );
export type FusionConfig = z.infer<typeof fusionSchema>;

function inputIssues(config: FusionConfig, ctx: Pick<BuildContext, 'inputs' | 'path'>): Issue[] {
  const issues: Issue[] = [];
  const names = ctx.inputs.map((i) => i.name);
  for (const key of Object.keys(config.inputs)) {
    if (!names.includes(key)) {
      const suggestion = didYouMean(key, names);
      issues.push({
        path: [...ctx.path, 'inputs', key],
        message: 'no data input of this name',
        received: key,
        expected: names.map((n) => JSON.stringify(n)).join(' | '),
        ...(suggestion ? { suggestion } : {}),
      });
    }
  }
  for (const name of names) {
    if (!(name in config.inputs))
      issues.push({
        path: [...ctx.path, 'inputs'],
        message: `data input "${name}" has no encoder`,
        expected: `an entry inputs.${name}: { type: ... }`,
      });
  }
  return issues;
}

export const fusionBuilder: ModelBuilder<FusionConfig> = {
  type: 'fusion',
  schema: fusionSchema,
  description: 'Multi-input fusion',
  validate(config, ctx) {
    return Object.entries(config.inputs).flatMap(([name, sub]) => {
      const issues = validateModelConfig(sub, {
        registry: ctx.registry,
        path: [...ctx.path, 'inputs', name],
      }).issues;
      const entry = ctx.registry.has(sub.type) ? ctx.registry.get(sub.type) : undefined;
      if (entry && !entry.encode) {
        issues.push({
          path: [...ctx.path, 'inputs', name, 'type'],
          message: 'this model type has no encoder (encode), so it cannot be a fusion input',
          received: sub.type,
        });
      }
      return issues;
    });
  },
  build(config, ctx) {
    const problems = inputIssues(config, ctx);
    if (problems.length) throw TfpipeError.fromIssues(problems);
    const inputs: tfl.SymbolicTensor[] = [];
    const encodings: tfl.SymbolicTensor[] = [];
    for (const spec of ctx.inputs) {
      const path = [...ctx.path, 'inputs', spec.name];
      const { entry, config: sub } = parseEntryConfig(config.inputs[spec.name], ctx.registry, path);
      if (!entry.encode) {
        throw new TfpipeError(
          'E_CONFIG',
          `${formatPath([...path, 'type'])}: model type "${entry.type}" has no encode(), so it cannot be a fusion input`,
          { path: [...path, 'type'] },
        );
      }
      const input = makeInput(spec);
      const sctx = { ...childContext(ctx, { path, prefix: spec.name, config: sub as FusionConfig }), spec };
      inputs.push(input);
      encodings.push(flattenIfNeeded(entry.encode(sub, input, sctx), sctx));
    }
    let x: tfl.SymbolicTensor;
    if (config.combiner === 'attention') {
      const projected = encodings.map(
        (e, i) =>
          tfl.layers
            .dense({
              units: config.attentionDim,
              activation: 'tanh',
              ...kernelOptions(ctx),
              name: ctx.layerName(`project_${ctx.inputs[i]!.name}`),
            })
            .apply(e) as tfl.SymbolicTensor,
      );
      x = new AttentionPooling({ seed: ctx.nextSeed(), name: ctx.layerName('attention_pool') }).apply(
        projected,
      ) as tfl.SymbolicTensor;
    } else {
      x =
        encodings.length === 1
          ? encodings[0]!
          : (tfl.layers
              .concatenate({ name: ctx.layerName('concat') })
              .apply(encodings) as tfl.SymbolicTensor);
    }
    x = applyHead(x, config.head, ctx);
    if (!config.outputs) {
      return tfl.model({
        inputs,
        outputs: outputLayer(x, ctx.task, ctx, config.output ?? {}),
        name: 'fusion',
      });
    }
    const tasks = resolveOutputTasks(config.outputs, ctx);
    const outputs = Object.entries(config.outputs).map(([name, o]) =>
      outputLayer(x, tasks[name]!, ctx, o, name),
    );
    return tfl.model({ inputs, outputs, name: 'fusion' });
  },
};

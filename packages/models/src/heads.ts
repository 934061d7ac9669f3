import * as tfl from '@tensorflow/tfjs-layers';
import { defaultLossForTask, formatPath, type TaskSpec, TfpipeError } from '@tfpipe/core';
import { z } from 'zod';
import { type Activation, activationSchema, type BuildContext, kernelOptions } from './_common.js';
import { SeededDropout } from './layers/seeded-dropout.js';

/** A TaskSpec as YAML, for the outputs of multi-output models. */
export const taskSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('multiclass'),
        classes: z.number().int().min(2),
        labels: z.array(z.string()).optional(),
      })
      .strict(),
    z.object({ kind: z.literal('binary'), labels: z.array(z.string()).optional() }).strict(),
    z
      .object({
        kind: z.literal('multilabel'),
        classes: z.number().int().min(1),
        labels: z.array(z.string()).optional(),
      })
      .strict(),
    z.object({ kind: z.literal('regression'), outputs: z.number().int().min(1) }).strict(),
  ])
  .describe('What an output predicts');

/** Overrides of the output layer that the task derives. */
export const outputSchema = z
  .object({
    activation: activationSchema
      .optional()
      .describe('Output activation (default from the task: softmax, sigmoid or linear)'),
    useBias: z.boolean().default(true).describe('Whether the output layer has a bias'),
  })
  .strict()
  .describe('Output layer overrides');
export type OutputConfig = z.infer<typeof outputSchema>;

/** Hidden dense layers between the encoder and the output layer. */
export const headSchema = z
  .object({
    units: z
      .array(z.number().int().positive())
      .default([])
      .describe('Units of each hidden dense layer, e.g. [64]'),
    activation: activationSchema.default('relu').describe('Activation of the hidden layers'),
    dropout: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Dropout rate after the encoder and after each hidden layer'),
    batchNorm: z.boolean().default(false).describe('Batch normalization after each hidden layer'),
  })
  .strict()
  .describe('Hidden layers before the output');
export type HeadConfig = z.infer<typeof headSchema>;
export const HEAD_DEFAULT: HeadConfig = { units: [], activation: 'relu', dropout: 0, batchNorm: false };

/** One output of a multi-output model. */
export const namedOutputSchema = outputSchema
  .extend({
    task: taskSchema.optional().describe("What this output predicts (default: buildModel's `tasks[name]`)"),
    lossWeight: z.number().min(0).default(1).describe("Weight of this output's loss in the total"),
    loss: z.string().optional().describe('Loss name (default from the task, see defaultLoss)'),
  })
  .strict();
export type NamedOutputConfig = z.infer<typeof namedOutputSchema>;

/** Units and activation of the output layer for a task. */
export function taskOutput(task: TaskSpec): { units: number; activation: Activation } {
  switch (task.kind) {
    case 'multiclass':
      return { units: task.classes, activation: 'softmax' };
    case 'binary':
      return { units: 1, activation: 'sigmoid' };
    case 'multilabel':
      return { units: task.classes, activation: 'sigmoid' };
    case 'regression':
      return { units: task.outputs, activation: 'linear' };
  }
}

/** The loss that fits a task's default output: categoricalCrossentropy / binaryCrossentropy / meanSquaredError. */
export function defaultLoss(task: TaskSpec): string {
  return defaultLossForTask(task);
}

/** A seeded dropout layer (or `x` itself when rate is 0). */
export function dropout(x: tfl.SymbolicTensor, rate: number, ctx: BuildContext): tfl.SymbolicTensor {
  if (rate <= 0) return x;
  return new SeededDropout({ rate, seed: ctx.nextSeed(), name: ctx.layerName('dropout') }).apply(
    x,
  ) as tfl.SymbolicTensor;
}

/** Hidden head layers: dropout on the encoding, then dense (+ batch norm) (+ dropout) per entry of `units`. */
export function applyHead(x: tfl.SymbolicTensor, head: HeadConfig, ctx: BuildContext): tfl.SymbolicTensor {
  let h = dropout(x, head.dropout, ctx);
  for (const units of head.units) {
    h = tfl.layers
      .dense({
        units,
        activation: head.batchNorm ? 'linear' : head.activation,
        ...kernelOptions(ctx),
        name: ctx.layerName('head_dense'),
      })
      .apply(h) as tfl.SymbolicTensor;
    if (head.batchNorm) {
      h = tfl.layers.batchNormalization({ name: ctx.layerName('head_bn') }).apply(h) as tfl.SymbolicTensor;
      h = tfl.layers
        .activation({ activation: head.activation, name: ctx.layerName('head_act') })
        .apply(h) as tfl.SymbolicTensor;
    }
    h = dropout(h, head.dropout, ctx);
  }
  return h;
}

/** The output layer derived from the task, with overrides. Named `name` (default "output"). */
export function outputLayer(
  x: tfl.SymbolicTensor,
  task: TaskSpec,
  ctx: BuildContext,
  override: Partial<OutputConfig> = {},
  name = 'output',
): tfl.SymbolicTensor {
  if (x.shape.length !== 2) {
    throw new TfpipeError(
      'E_MODEL',
      `${formatPath(ctx.path)}: the output layer needs a [batch, features] encoding; received shape [${x.shape.join(', ')}]`,
      {
        path: ctx.path,
      },
    );
  }
  const { units, activation } = taskOutput(task);
  const init = ctx.defaults.kernelInitializer ?? 'glorotUniform';
  return tfl.layers
    .dense({
      units,
      activation: override.activation ?? activation,
      useBias: override.useBias ?? true,
      ...kernelOptions(ctx, { kernelInitializer: init }),
      name,
    })
    .apply(x) as tfl.SymbolicTensor;
}

/** Resolves each named output's task: its own `task`, else `ctx.tasks[name]`; E_CONFIG when neither. */
export function resolveOutputTasks(
  outputs: Record<string, NamedOutputConfig>,
  ctx: Pick<BuildContext, 'tasks' | 'path'>,
): Record<string, TaskSpec> {
  const out: Record<string, TaskSpec> = {};
  for (const [name, o] of Object.entries(outputs)) {
    const task = (o.task as TaskSpec | undefined) ?? ctx.tasks?.[name];
    if (!task) {
      const path = [...ctx.path, 'outputs', name, 'task'];
      throw new TfpipeError(
        'E_CONFIG',
        `${formatPath(path)}: output "${name}" has no task; set outputs.${name}.task or pass tasks.${name} to buildModel`,
        {
          path,
          issues: [
            {
              path,
              message: 'missing task for output',
              expected: '{ kind: multiclass | binary | multilabel | regression, ... }',
            },
          ],
        },
      );
    }
    out[name] = task;
  }
  return out;
}

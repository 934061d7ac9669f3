import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, parseSection, TfpipeError, type TaskSpec } from '@tfpipe/core';
import { SeededDropout, taskOutput, taskSchema } from '@tfpipe/models';
import { z } from 'zod';
import { modelLayers } from './freeze.js';

const activation = z
  .enum(['relu', 'elu', 'selu', 'gelu', 'tanh', 'sigmoid', 'swish', 'mish', 'softplus', 'linear'])
  .describe('Activation of the hidden layers');

/** `finetune.head`: cut the base model and put a new head for the new task on it. */
export const finetuneHeadSchema = z
  .object({
    dropTop: z.number().int().min(0).default(1).describe('How many layers to remove from the top of the base (input layers are not counted)'),
    from: z.string().min(1).optional().describe('Or: the name of the layer whose output feeds the new head (instead of dropTop)'),
    units: z.array(z.number().int().positive()).default([]).describe('Hidden dense layers of the new head'),
    activation: activation.default('relu'),
    dropout: z.number().min(0).lt(1).default(0).describe('Dropout before each dense layer of the new head'),
    task: taskSchema.optional().describe('The new task (default: the task of the data being fine-tuned on)'),
  })
  .strict()
  .describe('Replace the top of the base model with a new head');
export type FinetuneHeadConfig = z.infer<typeof finetuneHeadSchema>;
export type FinetuneHeadInput = z.input<typeof finetuneHeadSchema>;

export interface ReplaceHeadOptions {
  task: TaskSpec;
  seed: number;
  path?: (string | number)[];
}

/**
 * A new functional model: the base's inputs, its graph up to the cut (`dropTop` layers from the top, or the
 * layer `from`), then hidden dense layers and the task's output layer (named `output`, seeded Glorot).
 * Base layers are shared, not copied. Returns the model and the names of the new layers.
 */
export function replaceHead(model: tfl.LayersModel, config: FinetuneHeadInput, options: ReplaceHeadOptions): { model: tfl.LayersModel; headLayers: string[] } {
  const path = options.path ?? ['finetune', 'head'];
  const c = parseSection(finetuneHeadSchema, config, path);
  const layers = modelLayers(model);
  const names = layers.map((l) => l.name);
  let cut: tfl.layers.Layer;
  if (c.from !== undefined) {
    const i = names.indexOf(c.from);
    if (i < 0) {
      throw TfpipeError.fromIssues([{ path: [...path, 'from'], message: 'no such layer', received: c.from, expected: `one of ${names.join(', ')}` }]);
    }
    cut = layers[i]!;
  } else {
    if (c.dropTop >= layers.length) {
      throw TfpipeError.fromIssues([
        { path: [...path, 'dropTop'], message: `the model has ${layers.length} layers (${names.join(', ')})`, received: c.dropTop, expected: `an integer < ${layers.length}` },
      ]);
    }
    cut = layers[layers.length - 1 - c.dropTop]!;
  }
  if (cut.inboundNodes.length !== 1) {
    throw new TfpipeError('E_MODEL', `${formatCut(path, c)}: layer "${cut.name}" is used ${cut.inboundNodes.length} times; cut at a layer with one output`, { path });
  }
  let x = cut.output as tfl.SymbolicTensor;
  if (Array.isArray(x)) throw new TfpipeError('E_MODEL', `layer "${cut.name}" has several outputs; cut at a layer with one output`, { path });
  const task = (c.task as TaskSpec | undefined) ?? options.task;
  const rng = createRng(options.seed);
  // Names in the new model: the layers up to the cut (topological order) and the new ones.
  const taken = new Set(names.slice(0, names.indexOf(cut.name) + 1));
  const fresh = (base: string) => {
    let i = 0;
    while (taken.has(`${base}_${i}`)) i++;
    taken.add(`${base}_${i}`);
    return `${base}_${i}`;
  };
  const created: string[] = [];
  if (x.shape.length > 2) {
    const name = fresh('head_flatten');
    created.push(name);
    x = tfl.layers.flatten({ name }).apply(x) as tfl.SymbolicTensor;
  }
  const drop = (h: tfl.SymbolicTensor) => {
    if (c.dropout <= 0) return h;
    const name = fresh('head_dropout');
    created.push(name);
    return new SeededDropout({ rate: c.dropout, seed: rng.seed32(), name }).apply(h) as tfl.SymbolicTensor;
  };
  for (const units of c.units) {
    const name = fresh('head_dense');
    created.push(name);
    x = tfl.layers
      .dense({ units, activation: c.activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed32() }), name })
      .apply(drop(x)) as tfl.SymbolicTensor;
  }
  const out = taskOutput(task);
  // "output" is the tfpipe convention; the old output layer is cut off, so the name is free unless kept.
  const outName = taken.has('output') ? fresh('output') : 'output';
  created.push(outName);
  const y = tfl.layers
    .dense({ units: out.units, activation: out.activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed32() }), name: outName })
    .apply(drop(x)) as tfl.SymbolicTensor;
  return { model: tfl.model({ inputs: model.inputs, outputs: y, name: `${model.name}_finetune` }), headLayers: created };
}

function formatCut(path: (string | number)[], c: FinetuneHeadConfig): string {
  return `${path.join('.')}${c.from ? `.from=${c.from}` : `.dropTop=${c.dropTop}`}`;
}

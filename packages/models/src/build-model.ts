import type * as tfl from '@tensorflow/tfjs-layers';
import { type InputSpec, type TaskSpec, TfpipeError } from '@tfpipe/core';
import { assemble } from './_assemble.js';
import { childContext, type ModelRegistry, rootContext } from './_common.js';
import { registerCustomLayers } from './custom-layers.js';
import { defaultLoss, resolveOutputTasks } from './heads.js';
import { createModelRegistry } from './registry.js';
import { validateModelConfig } from './validate.js';

export interface BuildModelOptions {
  inputs: InputSpec[];
  task: TaskSpec;
  seed: number;
  registry?: ModelRegistry;
  /** Tasks of named outputs (multi-output fusion), when the config does not name them. */
  tasks?: Record<string, TaskSpec>;
  /** Config path for messages (default ['model']). */
  path?: (string | number)[];
}

/**
 * Builds an uncompiled LayersModel from a model config (raw YAML object or parsed). Input layers are named
 * after the InputSpecs; the output head comes from the task. Same config + seed → same initial weights.
 */
export function buildModel(config: unknown, opts: BuildModelOptions): tfl.LayersModel {
  registerCustomLayers();
  const registry = opts.registry ?? createModelRegistry();
  const path = opts.path ?? ['model'];
  const checked = validateModelConfig(config, { registry, path });
  if (checked.issues.length) throw checked.error ?? TfpipeError.fromIssues(checked.issues);
  const parsed = checked.config as { type: string };
  if (opts.inputs.length === 0)
    throw new TfpipeError('E_MODEL', 'buildModel needs at least one InputSpec', { path });
  const entry = registry.get(parsed.type, [...path, 'type']);
  const root = rootContext({
    inputs: opts.inputs,
    task: opts.task,
    seed: opts.seed,
    registry,
    path,
    ...(opts.tasks ? { tasks: opts.tasks } : {}),
  });
  const ctx = childContext(root, { config: parsed as never });
  if (entry.build) return entry.build(parsed, ctx);
  if (entry.encode) return assemble(parsed as never, ctx, entry.type, entry.encode.bind(entry));
  throw new TfpipeError('E_INTERNAL', `model type "${entry.type}" has neither build() nor encode()`, {
    path: [...path, 'type'],
  });
}

/** Loss names (and weights) for compiling a built model: one loss, or one per named output. */
export function modelLosses(
  config: unknown,
  opts: {
    task: TaskSpec;
    tasks?: Record<string, TaskSpec>;
    registry?: ModelRegistry;
    path?: (string | number)[];
  },
): { loss: string | Record<string, string>; lossWeights?: Record<string, number> } {
  const registry = opts.registry ?? createModelRegistry();
  const path = opts.path ?? ['model'];
  const checked = validateModelConfig(config, { registry, path });
  if (checked.issues.length) throw checked.error ?? TfpipeError.fromIssues(checked.issues);
  const outputs = (checked.config as { outputs?: Record<string, { lossWeight: number; loss?: string }> })
    .outputs;
  if (!outputs) return { loss: defaultLoss(opts.task) };
  const tasks = resolveOutputTasks(outputs as never, { path, ...(opts.tasks ? { tasks: opts.tasks } : {}) });
  const loss: Record<string, string> = {};
  const lossWeights: Record<string, number> = {};
  for (const [name, o] of Object.entries(outputs)) {
    loss[name] = o.loss ?? defaultLoss(tasks[name]!);
    lossWeights[name] = o.lossWeight;
  }
  return { loss, lossWeights };
}

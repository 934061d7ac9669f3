import { type Direction, type Issue, type Logger, type Registry, type RegistryEntry, TfpipeError, createRegistry, zodIssues } from '@tfpipe/core';
import { z } from 'zod';
import { monitorIssue } from '../monitor.js';
import type { Callback } from '../types.js';
import { EarlyStopping } from './early-stopping.js';

/** What a registered callback is built with, besides its own config. */
export interface CallbackBuildContext {
  /** Metric names the run computes, and whether it has a validation set (to check monitors). */
  metricNames: readonly string[];
  hasValidation: boolean;
  /** Direction of a monitor (`loss`, `val_accuracy`, ...), from the metrics' own declarations. */
  direction(monitor: string): Direction;
  logger: Logger;
  /** Config path of this entry (`['train', 'callbacks', i]`), for error messages. */
  path: (string | number)[];
}

/** A callback that a YAML config can name: `train.callbacks: [{ type: <type>, ... }]`. */
export interface CallbackEntry<C = unknown> extends RegistryEntry {
  schema: z.ZodType<C>;
  /** Cross-field problems once the run is known (a monitor the run does not compute, ...). */
  check?(config: C, ctx: CallbackBuildContext): Issue[];
  create(config: C, ctx: CallbackBuildContext): Callback;
}

export type CallbackRegistry = Registry<CallbackEntry>;

const extraEarlyStoppingSchema = z
  .object({
    type: z.literal('earlyStopping'),
    name: z.string().min(1).optional().describe('Key of its state in checkpoints (default "early-stopping-<index>")'),
    monitor: z.string().min(1).describe('Value to watch: "loss", a metric name, or "val_<name>"'),
    patience: z.number().int().min(0).default(5).describe('Epochs without improvement before stopping'),
    minDelta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement'),
    baseline: z.number().optional().describe('Stop unless the monitor beats this value within `patience` epochs'),
    startFromEpoch: z.number().int().min(0).default(0).describe('Epochs to train before the monitor is watched'),
  })
  .strict()
  .describe('One more early stopping rule on any monitor (train.earlyStopping is the main one, with best-weights restore)');

/** `earlyStopping` by name: a second (third, ...) stopping rule on another monitor. */
export const earlyStoppingCallback: CallbackEntry<z.infer<typeof extraEarlyStoppingSchema>> = {
  type: 'earlyStopping',
  schema: extraEarlyStoppingSchema,
  description: extraEarlyStoppingSchema.description,
  check: (c, ctx) => {
    const issue = monitorIssue(c.monitor, ctx.metricNames, ctx.hasValidation, [...ctx.path, 'monitor']);
    return issue ? [issue] : [];
  },
  create: (c, ctx) =>
    new EarlyStopping(c, c.monitor, ctx.direction(c.monitor), { name: c.name ?? `early-stopping-${ctx.path.at(-1)}`, logger: ctx.logger }),
};

/** A fresh registry with the built-in callbacks a YAML config can name; `register` adds your own. */
export function createCallbackRegistry(): CallbackRegistry {
  return createRegistry<CallbackEntry>('callback', [earlyStoppingCallback as CallbackEntry]);
}

/** An item of `train.callbacks` as the schema takes it: a `type` and that type's options, checked by the registry. */
export const callbackItemSchema = z
  .looseObject({ type: z.string().min(1).describe('A registered callback type (built-in: earlyStopping)') })
  .describe('A callback by registered type, with its options');

/**
 * Builds the callbacks `train.callbacks` names: each item validated against its registry entry's schema
 * (paths `train.callbacks.<i>.<key>`), then checked against the run, every problem reported at once.
 */
export function callbacksFromConfig(
  items: readonly { type: string }[],
  registry: CallbackRegistry,
  ctx: Omit<CallbackBuildContext, 'path'>,
): Callback[] {
  const issues: Issue[] = [];
  const built: Callback[] = [];
  items.forEach((item, i) => {
    const path = ['train', 'callbacks', i];
    let entry: CallbackEntry;
    try {
      entry = registry.get(item.type, [...path, 'type']);
    } catch (e) {
      if (e instanceof TfpipeError) issues.push(...e.issues);
      else throw e;
      return;
    }
    const parsed = entry.schema.safeParse(item);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, entry.schema, path, item));
      return;
    }
    const c = { ...ctx, path };
    const found = entry.check?.(parsed.data, c) ?? [];
    if (found.length) issues.push(...found);
    else built.push(entry.create(parsed.data, c));
  });
  if (issues.length) throw TfpipeError.fromIssues(issues);
  return built;
}

import type { Rng } from '@tfpipe/core';
import { z } from 'zod';

const range = z
  .tuple([z.number(), z.number()])
  .refine(([a, b]) => a < b, { message: 'the lower bound must be below the upper bound' });

/** The ways one swept parameter can be written in YAML. */
export const paramSpecSchema = z
  .union([
    z.array(z.unknown()).min(1).describe('Grid values: every one is tried (random search picks among them).'),
    z.object({ uniform: range.describe('[low, high]') }).strict().describe('Uniform in [low, high).'),
    z
      .object({
        logUniform: range
          .refine(([a]) => a > 0, { message: 'logUniform bounds must be > 0' })
          .describe('[low, high], both > 0'),
      })
      .strict()
      .describe('Log-uniform in [low, high): learning rates, weight decay.'),
    z
      .object({ int: z.tuple([z.number().int(), z.number().int()]).refine(([a, b]) => a <= b, { message: 'low must be <= high' }) })
      .strict()
      .describe('An integer in [low, high], both ends included; a grid enumerates them all.'),
    z.object({ choice: z.array(z.unknown()).min(1) }).strict().describe('One of these values; a grid enumerates them all.'),
  ])
  .describe('A list of values, or { uniform | logUniform | int | choice }.');

export type ParamSpec = z.output<typeof paramSpecSchema>;

/** Names of the distribution keys, for did-you-mean on a misspelt one. */
export const PARAM_KINDS = ['uniform', 'logUniform', 'int', 'choice'] as const;

/** The values a grid search enumerates, or undefined for a continuous distribution. */
export function gridValues(spec: ParamSpec): unknown[] | undefined {
  if (Array.isArray(spec)) return spec;
  if ('choice' in spec) return spec.choice;
  if ('int' in spec) {
    const [a, b] = spec.int;
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  return undefined;
}

/** Draws one value of `spec` from `rng`. */
export function sampleParam(spec: ParamSpec, rng: Rng): unknown {
  if (Array.isArray(spec)) return spec[rng.int(spec.length)];
  if ('choice' in spec) return spec.choice[rng.int(spec.choice.length)];
  if ('int' in spec) return spec.int[0] + rng.int(spec.int[1] - spec.int[0] + 1);
  if ('uniform' in spec) return spec.uniform[0] + rng.next() * (spec.uniform[1] - spec.uniform[0]);
  const [a, b] = spec.logUniform;
  return Math.exp(Math.log(a) + rng.next() * (Math.log(b) - Math.log(a)));
}

/** Whether a plot of this parameter reads better on a log axis. */
export function isLogScale(spec: ParamSpec): boolean {
  return !Array.isArray(spec) && 'logUniform' in spec;
}

/** Cartesian product of the value lists, first parameter varying slowest. */
export function cartesian(lists: readonly (readonly unknown[])[]): unknown[][] {
  let out: unknown[][] = [[]];
  for (const list of lists) out = out.flatMap((prefix) => list.map((v) => [...prefix, v]));
  return out;
}

import type * as tfl from '@tensorflow/tfjs-layers';
import type { Issue } from '@tfpipe/core';
import type { z } from 'zod';
import type { BuildContext, EncodeContext } from './_common.js';

/**
 * A model builder keyed by the YAML `type`. `build` makes a whole model (input layers named after the
 * InputSpecs, output head from the task); `encode` makes the same network without its output head, on one
 * input, for use inside `fusion`. An entry needs at least one of them: with only `encode`, `buildModel`
 * adds the input layer and the task's output head itself.
 */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds builders of different config types; each entry's schema checks its own.
export interface ModelBuilder<C = any> {
  type: string;
  schema: z.ZodType<C>;
  description?: string;
  build?(config: C, ctx: BuildContext): tfl.LayersModel;
  encode?(config: C, input: tfl.SymbolicTensor, ctx: EncodeContext): tfl.SymbolicTensor;
  /** Checks beyond the schema that need the registry (nested configs), before any tensor exists. */
  validate?(config: C, ctx: { registry: BuildContext['registry']; path: (string | number)[] }): Issue[];
}

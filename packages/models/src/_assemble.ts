import * as tfl from '@tensorflow/tfjs-layers';
import { formatPath, type InputSpec, TfpipeError } from '@tfpipe/core';
import type { BuildContext, EncodeContext } from './_common.js';
import { applyHead, type HeadConfig, type OutputConfig, outputLayer } from './heads.js';

/** The input layer for one InputSpec: named after it; text inputs are int32 token ids. */
export function makeInput(spec: InputSpec): tfl.SymbolicTensor {
  const dtype = spec.kind === 'text' ? 'int32' : (spec.dtype ?? 'float32');
  return tfl.input({ name: spec.name, shape: spec.shape, dtype });
}

/** The one input of a single-input model; E_CONFIG when the data has several. */
export function singleInput(ctx: BuildContext, type: string): InputSpec {
  if (ctx.inputs.length === 1) return ctx.inputs[0]!;
  const path = [...ctx.path, 'type'];
  const names = ctx.inputs.map((i) => i.name).join(', ') || '(none)';
  throw new TfpipeError(
    'E_CONFIG',
    `${formatPath(path)}: model type "${type}" takes one input; the data has ${ctx.inputs.length} (${names})`,
    {
      path,
      issues: [
        {
          path,
          message: `model type "${type}" takes one input`,
          received: type,
          expected: ctx.inputs.length > 1 ? '"fusion" for several inputs' : 'one input',
        },
      ],
      hint: ctx.inputs.length > 1 ? 'Use `type: fusion` with one encoder per input.' : undefined,
    },
  );
}

/** Input → encoder → hidden head → task output: the whole model of a single-input builder. */
export function assemble<C>(
  config: C & { head?: HeadConfig; output?: Partial<OutputConfig> },
  ctx: BuildContext,
  type: string,
  encode: (config: C, input: tfl.SymbolicTensor, ctx: EncodeContext) => tfl.SymbolicTensor,
): tfl.LayersModel {
  const spec = singleInput(ctx, type);
  const input = makeInput(spec);
  let x = encode(config, input, { ...ctx, spec });
  if (config.head) x = applyHead(x, config.head, ctx);
  const y = outputLayer(x, ctx.task, ctx, config.output ?? {});
  return tfl.model({ inputs: input, outputs: y, name: type.replace(/[^A-Za-z0-9_]/g, '_') });
}

import { writeFileAtomic } from '@tfpipe/core';
import { sweepSchema } from '@tfpipe/distributed';
import { pipelineJsonSchema } from '@tfpipe/pipeline';

/** The pipeline's JSON Schema with the sweep section filled in (the pipeline package does not know sweeps). */
export function fullJsonSchema(): Record<string, unknown> {
  return pipelineJsonSchema(undefined, { sections: { sweep: sweepSchema } });
}

export async function schemaCommand(opts: { out?: string }): Promise<void> {
  const text = `${JSON.stringify(fullJsonSchema(), null, 2)}\n`;
  if (opts.out) {
    await writeFileAtomic(opts.out, text);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else process.stdout.write(text);
}

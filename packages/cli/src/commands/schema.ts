import { z } from 'zod';
import { writeFileAtomic } from '@tfpipe/core';
import { sweepSchema } from '@tfpipe/distributed';
import { pipelineJsonSchema } from '@tfpipe/pipeline';

/** The pipeline's JSON Schema with the sweep section filled in (the pipeline package does not know sweeps). */
export function fullJsonSchema(): Record<string, unknown> {
  const schema = pipelineJsonSchema() as { properties: Record<string, unknown> };
  schema.properties.sweep = z.toJSONSchema(sweepSchema, { io: 'input', unrepresentable: 'any' });
  return schema;
}

export async function schemaCommand(opts: { out?: string }): Promise<void> {
  const text = `${JSON.stringify(fullJsonSchema(), null, 2)}\n`;
  if (opts.out) {
    await writeFileAtomic(opts.out, text);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else process.stdout.write(text);
}

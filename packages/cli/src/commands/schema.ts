import { writeFileAtomic } from '@tfpipe/core';
import { pipelineJsonSchema } from '@tfpipe/pipeline';

export async function schemaCommand(opts: { out?: string }): Promise<void> {
  const text = `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
  if (opts.out) {
    await writeFileAtomic(opts.out, text);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else process.stdout.write(text);
}

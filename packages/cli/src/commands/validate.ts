import { relative } from 'node:path';
import { loadPipelineConfig } from '@tfpipe/pipeline';

export async function validateCommand(file: string, opts: { set?: string[] }): Promise<void> {
  const loaded = await loadPipelineConfig(file, { set: opts.set ?? [] });
  const c = loaded.config;
  const from = loaded.files.length > 1 ? ` (with ${loaded.files.slice(0, -1).map((f) => relative(process.cwd(), f) || f).join(', ')})` : '';
  process.stdout.write(`${file}: valid${from}\n  name: ${c.name}\n  model: ${c.model.type}\n  train: ${c.train.epochs} epochs, batch ${c.train.batchSize}, ${c.train.optimizer.type}\n`);
}

import { relative } from 'node:path';
import { resolveSweep } from '@tfpipe/distributed';
import { loadPipelineConfig } from '@tfpipe/pipeline';

export async function validateCommand(file: string, opts: { set?: string[] }): Promise<void> {
  const loaded = await loadPipelineConfig(file, { set: opts.set ?? [] });
  const c = loaded.config;
  // `sweep:` belongs to @tfpipe/distributed; its paths are checked against the defaulted config.
  const sweep = c.sweep !== undefined ? resolveSweep(c, c.sweep) : undefined;
  const from = loaded.files.length > 1 ? ` (with ${loaded.files.slice(0, -1).map((f) => relative(process.cwd(), f) || f).join(', ')})` : '';
  const lines = [`${file}: valid${from}`, `  name: ${c.name}`, `  model: ${c.model ? c.model.type : `fine-tuning ${c.finetune?.base}`}`, `  train: ${c.finetune?.stages ? `${c.finetune.stages.length} stages, ${c.finetune.stages.reduce((n, st) => n + (st.epochs ?? c.train.epochs), 0)} epochs` : `${c.train.epochs} epochs`}, batch ${c.train.batchSize}, ${c.train.optimizer.type}`];
  if (sweep) lines.push(`  sweep: ${sweep.method}, ${Object.keys(sweep.parameters).length} parameter(s), ranked by ${sweep.metric} (${sweep.direction})`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

import { consoleLogger, writeJsonAtomic } from '@tfpipe/core';
import { evaluateRun } from '@tfpipe/pipeline';

export async function evaluateCommand(runDir: string, opts: { data: string; out?: string }): Promise<void> {
  const evaluation = await evaluateRun(runDir, opts.data, { logger: consoleLogger });
  if (opts.out) {
    await writeJsonAtomic(opts.out, evaluation);
    process.stderr.write(`wrote ${opts.out}\n`);
  }
  const m = evaluation.metrics as Record<string, unknown>;
  const line = Object.entries(m)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${(v as number).toFixed(4)}`)
    .join('  ');
  process.stdout.write(`${evaluation.samples} samples: ${line}\n`);
}

import { join } from 'node:path';
import { consoleLogger, writeFileAtomic } from '@tfpipe/core';
import type { EXPLAIN_METHODS, ExplainInput } from '@tfpipe/explain';
import { explainRun } from '@tfpipe/pipeline';

interface ExplainOpts {
  input: string;
  out: string;
  methods?: string;
  examples?: number;
  steps?: number;
}

/**
 * `pipeline explain <run-dir> --input <file|pipeline.yaml> [--out dir]`: one JSON line per explained example in
 * <out>/explanations.jsonl, heat maps of image inputs in <out>/images/, the importance (YAML input) in importance.json.
 */
export async function explainCommand(runDir: string, opts: ExplainOpts): Promise<void> {
  const explain: ExplainInput = {};
  if (opts.methods) explain.methods = opts.methods.split(',').map((m) => m.trim()) as (typeof EXPLAIN_METHODS)[number][];
  if (opts.examples !== undefined) explain.examples = opts.examples;
  if (opts.steps !== undefined) explain.steps = opts.steps;
  const explanation = await explainRun(runDir, opts.input, {
    ...(Object.keys(explain).length ? { explain } : {}),
    imagesDir: join(opts.out, 'images'),
    logger: consoleLogger,
  });
  const lines = explanation.examples.map((e) => JSON.stringify(e)).join('\n');
  await writeFileAtomic(join(opts.out, 'explanations.jsonl'), lines ? `${lines}\n` : '');
  if (explanation.importance) await writeFileAtomic(join(opts.out, 'importance.json'), JSON.stringify(explanation.importance, null, 2));
  for (const i of explanation.importance?.importances ?? []) {
    process.stdout.write(`${i.column}\t${i.mean.toFixed(4)} ± ${i.std.toFixed(4)}\n`);
  }
  process.stderr.write(`done: ${explanation.examples.length} example(s) in ${join(opts.out, 'explanations.jsonl')}\n`);
}

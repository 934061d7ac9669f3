import { extname, join, resolve } from 'node:path';
import { type Logger, parseSection, silentLogger, TfpipeError, useBackend, writeFileAtomic } from '@tfpipe/core';
import { openSource, type Row, splitDataset } from '@tfpipe/data';
import { createMetric, overlayPng } from '@tfpipe/evaluate';
import { type ExplainInput, type Explanation, explainRows, explainSchema, vocabularies } from '@tfpipe/explain';
import { loadPipelineConfig } from '../config/pipeline-config.js';
import { explainMetric } from './explain-phase.js';
import { chooseWasmThreadsForRun, loadRun } from './model-dir.js';

const FILE_TYPES: Record<string, 'csv' | 'tsv' | 'jsonl' | 'json'> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

export interface ExplainRunOptions {
  /** `explain:` options (methods, examples, steps, ...); the config's own `explain:` when `input` is a pipeline YAML. */
  explain?: ExplainInput;
  /** Folder for the heat-map PNGs of image inputs (`<index>-<input>-ig.png`, `-gradcam.png`). */
  imagesDir?: string;
  logger?: Logger;
}

/**
 * Explains a saved run on new data, with the run's own preprocessing: a data file (no labels needed: the first
 * rows, attributions for the predicted class) or a pipeline YAML (its test split, with permutation importance).
 */
export async function explainRun(runDir: string, input: string, options: ExplainRunOptions = {}): Promise<Explanation> {
  const log = options.logger ?? silentLogger;
  await chooseWasmThreadsForRun(runDir);
  await useBackend('auto', { log: (m) => log.info(m) });
  const run = await loadRun(runDir);
  try {
    const ext = extname(input).toLowerCase();
    let rows: Row[];
    let withLabels = false;
    let explain = parseSection(explainSchema, options.explain ?? {}, ['explain']);
    let metric: (() => ReturnType<typeof createMetric>) | undefined;
    const task = run.tensorizer.task;
    if (ext === '.yaml' || ext === '.yml') {
      const loaded = await loadPipelineConfig(input);
      const cfg = loaded.config;
      // The YAML's explain: section, with the caller's options on top.
      if (cfg.explain) explain = parseSection(explainSchema, { ...cfg.explain, ...options.explain }, ['explain']);
      const source = await openSource(cfg.data.source, { baseDir: loaded.baseDir, logger: log });
      const split = splitDataset(source.rows(), cfg.data.split ?? {}, { seed: cfg.seed, baseDir: loaded.baseDir });
      rows = await (split.test ?? source.rows()).take(explain.maxRows).toArray();
      withLabels = true;
      const spec = explainMetric(explain, cfg.evaluate, task);
      metric = () => createMetric(spec, task);
      log.info(`explaining ${rows.length} rows of ${split.test ? 'the test split' : 'all rows'} of ${input}`);
    } else if (FILE_TYPES[ext]) {
      const source = await openSource({ type: FILE_TYPES[ext], path: resolve(input) }, { baseDir: process.cwd(), logger: log, path: ['input'] });
      rows = await source.rows().take(explain.examples).toArray();
    } else {
      throw new TfpipeError('E_USAGE', `--input ${input}: expected a pipeline YAML or a ${Object.keys(FILE_TYPES).join(', ')} file`);
    }
    const explanation = await explainRows({
      model: run.model,
      tensorizer: run.tensorizer,
      rows,
      preprocess: (r) => run.preprocessor.transform(r),
      ...(metric ? { metric } : {}),
      vocab: vocabularies(run.preprocessor.toJSON()),
      config: explain,
      withLabels,
      logger: log,
    });
    if (options.imagesDir) {
      for (const ex of explanation.examples) {
        for (const [name, im] of Object.entries(ex.images ?? {})) {
          if (im.attribution) await writeFileAtomic(join(options.imagesDir, `${ex.index}-${name}-ig.png`), overlayPng(im.pixels, im.attribution, im.shape));
          if (im.gradCam) await writeFileAtomic(join(options.imagesDir, `${ex.index}-${name}-gradcam.png`), overlayPng(im.pixels, im.gradCam, im.shape));
        }
      }
    }
    return explanation;
  } finally {
    await run.dispose();
  }
}

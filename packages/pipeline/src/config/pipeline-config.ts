import type { Issue } from '@tfpipe/core';
import { checkTrainConfig } from '@tfpipe/trainer';
import { checkEvaluateConfig } from '@tfpipe/evaluate';
import { loadConfig, type LoadedConfig } from './load.js';
import { pipelineSchema, type PipelineConfig } from '../schema.js';

/** Cross-field checks that need the whole, defaulted config. Data-dependent checks run in `checkWithData`. */
export function crossFieldChecks(config: PipelineConfig): Issue[] {
  const issues: Issue[] = [];
  const hasValidation = Boolean(config.data.split && (config.data.split as { validation?: number }).validation);
  issues.push(...checkTrainConfig(config.train, { metricNames: config.train.metrics ?? [], hasValidation }));
  issues.push(...checkEvaluateConfig(config.evaluate).map((i) => ({ ...i, path: ['evaluate', ...i.path] })));
  if (config.data.test && config.data.split && (config.data.split as { test?: number }).test) {
    issues.push({ path: ['data', 'split', 'test'], message: 'a separate data.test.source is given, so the split must not also take a test fraction', received: (config.data.split as { test?: number }).test, expected: '0 or no split.test' });
  }
  return issues;
}

/** Loads and validates a pipeline YAML file (presets, --set, schema, cross-field checks). */
export async function loadPipelineConfig(file: string, options: { set?: readonly string[] } = {}): Promise<LoadedConfig<PipelineConfig>> {
  return loadConfig(file, { schema: pipelineSchema, ...(options.set ? { set: options.set } : {}), checks: crossFieldChecks });
}

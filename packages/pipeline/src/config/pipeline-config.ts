import type { Issue } from '@tfpipe/core';
import { checkTrainConfig } from '@tfpipe/trainer';
import { loadConfig, type LoadedConfig } from './load.js';
import { pipelineSchema, type PipelineConfig } from '../schema.js';

/** Cross-field checks that need the whole, defaulted config. Checks that need the task (metrics, gates) run in the runner once the labels are read, before the model is built. */
export function crossFieldChecks(config: PipelineConfig): Issue[] {
  const issues: Issue[] = [];
  const hasValidation = Boolean(config.data.split && (config.data.split as { validation?: number }).validation);
  issues.push(...checkTrainConfig(config.train, { metricNames: config.train.metrics ?? [], hasValidation }));
  return issues;
}

/** Loads and validates a pipeline YAML file (presets, --set, schema, cross-field checks). */
export async function loadPipelineConfig(file: string, options: { set?: readonly string[] } = {}): Promise<LoadedConfig<PipelineConfig>> {
  return loadConfig(file, { schema: pipelineSchema, ...(options.set ? { set: options.set } : {}), checks: crossFieldChecks });
}

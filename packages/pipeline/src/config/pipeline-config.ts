import { resolve } from 'node:path';
import { TfpipeError, zodIssues, type Issue } from '@tfpipe/core';
import { checkTrainConfig } from '@tfpipe/trainer';
import { loadConfig, type LoadedConfig } from './load.js';
import { pipelineSchema, type PipelineConfig } from '../schema.js';

/** Cross-field checks that need the whole, defaulted config. Checks that need the task (metrics, gates) run in the runner once the labels are read, before the model is built. */
export function crossFieldChecks(config: PipelineConfig): Issue[] {
  const issues: Issue[] = [];
  if (!config.model && !config.finetune) {
    issues.push({ path: ['model'], message: 'required', expected: 'a model: { type: ... } section, or finetune: { base: ... } to start from a trained model' });
  }
  if (config.model && config.finetune) {
    issues.push({ path: ['model'], message: 'a fine-tuning run takes its model from finetune.base; remove model:', received: config.model });
  }
  const hasValidation = Boolean(config.data.split && (config.data.split as { validation?: number }).validation);
  issues.push(...checkTrainConfig(config.train, { metricNames: config.train.metrics ?? [], hasValidation }));
  return issues;
}

/** Loads and validates a pipeline YAML file (presets, --set, schema, cross-field checks). */
export async function loadPipelineConfig(file: string, options: { set?: readonly string[] } = {}): Promise<LoadedConfig<PipelineConfig>> {
  return loadConfig(file, { schema: pipelineSchema, ...(options.set ? { set: options.set } : {}), checks: crossFieldChecks });
}

/**
 * Validates a config object that did not come from a file (a sweep trial, a config built in code), with the
 * same issues as a file minus line:column. `baseDir` is where its relative data paths point.
 */
export function pipelineConfigFromObject(raw: unknown, options: { baseDir: string; name?: string }): LoadedConfig<PipelineConfig> {
  const parsed = pipelineSchema.safeParse(raw, { reportInput: true });
  const origin = options.name ?? '(config object)';
  const at = (issues: Issue[]): Issue[] => issues.map((i) => ({ ...i, location: i.location ?? { file: origin, line: 0, column: 0 } }));
  if (!parsed.success) throw TfpipeError.fromIssues(at(zodIssues(parsed.error, pipelineSchema, [], raw)));
  const cross = crossFieldChecks(parsed.data);
  if (cross.length) throw TfpipeError.fromIssues(at(cross));
  return {
    config: parsed.data,
    raw: raw as Record<string, unknown>,
    path: resolve(options.baseDir, origin),
    baseDir: options.baseDir,
    files: [],
    locate: () => undefined,
  };
}

import { resolve } from 'node:path';
import { TfpipeError, zodIssues, type Issue } from '@tfpipe/core';
import { validateModelConfig } from '@tfpipe/models';
import { Preprocessor } from '@tfpipe/preprocess';
import { checkTrainConfig } from '@tfpipe/trainer';
import { loadConfig, type LoadedConfig } from './load.js';
import { createPipelineRegistries, loadPlugins, type PipelineRegistries } from './registries.js';
import { pipelineSchema, pipelineSchemaFor, type PipelineConfig } from '../schema.js';

/** A loaded pipeline config with the registries its types come from (built-ins plus its plugins'). */
export type LoadedPipelineConfig = LoadedConfig<PipelineConfig> & { registries?: PipelineRegistries };

/** `data.features` / `data.inputs`: exactly one, and the label never among them (needs no data). */
function featureIssues(config: PipelineConfig): Issue[] {
  const { features, inputs, label } = config.data;
  if ((features === undefined) === (inputs === undefined)) {
    return [
      {
        code: features === undefined ? 'required' : 'invalid',
        path: ['data', features === undefined ? 'features' : 'inputs'],
        message: 'give exactly one of `features: [columns]` (one input) or `inputs: { name: [columns] }` (several)',
        ...(features === undefined ? {} : { received: inputs }),
        expected: 'features: [columns] or inputs: { name: [columns] }',
      },
    ];
  }
  const labels = typeof label === 'string' ? [label] : label;
  const groups: [(string | number)[], string[]][] = features ? [[['data', 'features'], features]] : Object.entries(inputs!).map(([n, cols]) => [['data', 'inputs', n], cols]);
  const issues: Issue[] = [];
  for (const [path, cols] of groups) {
    cols.forEach((c, i) => {
      if (labels.includes(c)) issues.push({ code: 'invalid', path: [...path, i], message: 'the label column is also a feature (the model would see the answer)', received: c });
    });
  }
  return issues;
}

/** Issues a check reports by throwing (a TfpipeError with issues), as a list. */
function issuesOf(check: () => unknown): Issue[] {
  try {
    check();
    return [];
  } catch (e) {
    if (e instanceof TfpipeError && e.issues.length) return e.issues;
    throw e;
  }
}

/**
 * Cross-field checks that need the whole, defaulted config, and every check a run makes before it reads
 * data (so `pipeline validate` catches what `pipeline run` would): features, the model's own checks, the
 * preprocessing transforms. Checks that need the task (metrics, gates) run in the runner once the labels
 * are read, before the model is built.
 */
export function crossFieldChecks(config: PipelineConfig, registries: PipelineRegistries = createPipelineRegistries()): Issue[] {
  const issues: Issue[] = [];
  if (!config.model && !config.finetune) {
    issues.push({ code: 'required', path: ['model'], message: 'required', expected: 'a model: { type: ... } section, or finetune: { base: ... } to start from a trained model' });
  }
  if (config.model && config.finetune) {
    issues.push({ code: 'invalid', path: ['model'], message: 'a fine-tuning run takes its model from finetune.base; remove model:', received: config.model });
  }
  issues.push(...featureIssues(config));
  if (config.model) issues.push(...validateModelConfig(config.model, { registry: registries.models, path: ['model'] }).issues);
  issues.push(...issuesOf(() => Preprocessor.fromConfig(config.preprocess, { registry: registries.transforms, seed: config.seed })));
  const hasValidation = Boolean(config.data.split && (config.data.split as { validation?: number }).validation);
  issues.push(...checkTrainConfig(config.train, { metricNames: config.train.metrics ?? [], hasValidation }));
  return issues;
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Loads and validates a pipeline YAML file (presets, --set, plugins, schema, cross-field checks). The
 * config's `plugins:` register their types into `registries` (default: fresh built-ins) before the schema,
 * built from those registries, validates it.
 */
export async function loadPipelineConfig(file: string, options: { set?: readonly string[]; registries?: PipelineRegistries } = {}): Promise<LoadedPipelineConfig> {
  const registries = options.registries ?? createPipelineRegistries();
  let custom = options.registries !== undefined;
  const loaded = await loadConfig(file, {
    schema: pipelineSchema,
    ...(options.set ? { set: options.set } : {}),
    prepare: async (raw, ctx) => {
      if (isStringList(raw.plugins) && raw.plugins.length > 0) {
        await loadPlugins(raw.plugins, registries, { baseDir: ctx.baseDir, locate: (p) => ctx.locate(p) });
        custom = true;
      }
      // The built-in schema unless something was registered: building one costs a few milliseconds.
      return custom ? pipelineSchemaFor(registries) : undefined;
    },
    checks: (config) => crossFieldChecks(config, registries),
  });
  return { ...loaded, registries };
}

/**
 * Validates a config object that did not come from a file (a sweep trial, a config built in code), with the
 * same issues as a file minus line:column. `baseDir` is where its relative data paths point; `registries`
 * hold any types registered from TypeScript (load the object's `plugins:` into them with `loadPlugins`).
 */
export function pipelineConfigFromObject(raw: unknown, options: { baseDir: string; name?: string; registries?: PipelineRegistries }): LoadedPipelineConfig {
  const registries = options.registries ?? createPipelineRegistries();
  const schema = options.registries ? pipelineSchemaFor(registries) : pipelineSchema;
  const parsed = schema.safeParse(raw, { reportInput: true });
  const origin = options.name ?? '(config object)';
  const at = (issues: Issue[]): Issue[] => issues.map((i) => ({ ...i, location: i.location ?? { file: origin, line: 0, column: 0 } }));
  if (!parsed.success) throw TfpipeError.fromIssues(at(zodIssues(parsed.error, schema, [], raw)));
  const cross = crossFieldChecks(parsed.data, registries);
  if (cross.length) throw TfpipeError.fromIssues(at(cross));
  return {
    config: parsed.data,
    raw: raw as Record<string, unknown>,
    path: resolve(options.baseDir, origin),
    baseDir: options.baseDir,
    files: [],
    locate: () => undefined,
    registries,
  };
}

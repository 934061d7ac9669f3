import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TfpipeError, type Issue, type SourceLocation } from '@tfpipe/core';
import { createSourceRegistry, type SourceRegistry } from '@tfpipe/data';
import { createModelRegistry, type ModelRegistry } from '@tfpipe/models';
import { createTransformRegistry, type TransformRegistry } from '@tfpipe/preprocess';

/**
 * The registries a pipeline reads its `type:`s from. A config's schema is built from them (see
 * `pipelineSchemaFor`), so what is registered here is valid in the YAML, in `pipeline validate` and in the
 * editor's JSON Schema, and the run builds it.
 */
export interface PipelineRegistries {
  models: ModelRegistry;
  sources: SourceRegistry;
  transforms: TransformRegistry;
}

/** Fresh registries holding the built-ins. */
export function createPipelineRegistries(): PipelineRegistries {
  return { models: createModelRegistry(), sources: createSourceRegistry(), transforms: createTransformRegistry() };
}

/**
 * A plugin module (named in the config's `plugins:`) exports, as `default` or `register`, a function that
 * registers its models, sources and transforms: `export default ({ models, sources, transforms }) => { ... }`.
 */
export type PipelinePlugin = (registries: PipelineRegistries) => void | Promise<void>;

/**
 * Imports each plugin module (absolute paths, or relative to `baseDir`) and lets it register its types.
 * A missing module, one that fails to load, or one without a register function is an E_CONFIG issue at
 * its `plugins[i]` entry.
 */
export async function loadPlugins(
  plugins: readonly string[],
  registries: PipelineRegistries,
  options: { baseDir: string; locate?: (path: (string | number)[]) => SourceLocation | undefined },
): Promise<void> {
  for (const [i, spec] of plugins.entries()) {
    const file = isAbsolute(spec) ? spec : resolve(options.baseDir, spec);
    const fail = (message: string, expected: string, cause?: unknown): TfpipeError => {
      const loc = options.locate?.(['plugins', i]);
      const issue: Issue = { code: 'invalid', path: ['plugins', i], message, received: spec, expected, ...(loc ? { location: loc } : {}) };
      const e = TfpipeError.fromIssues([issue]);
      return cause === undefined ? e : new TfpipeError(e.code, e.message, { issues: e.issues, path: e.path, cause });
    };
    if (!existsSync(file)) throw fail('no such plugin module', `a file at ${file}`);
    let mod: { default?: unknown; register?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as typeof mod;
    } catch (e) {
      throw fail(`the plugin failed to load: ${(e as Error).message}`, 'a JavaScript or TypeScript module', e);
    }
    const register = typeof mod.register === 'function' ? mod.register : mod.default;
    if (typeof register !== 'function') {
      throw fail('the plugin exports no register function', 'a module whose default export (or `register`) is ({ models, sources, transforms }) => void');
    }
    try {
      await (register as PipelinePlugin)(registries);
    } catch (e) {
      if (e instanceof TfpipeError && e.code === 'E_DUPLICATE_TYPE') throw fail(e.message, 'type names not registered yet', e);
      throw fail(`the plugin's register function failed: ${(e as Error).message}`, 'a register function that returns', e);
    }
  }
}

/**
 * Registries with the plugins a raw config object names (a sweep trial's config, with absolute paths), or
 * undefined when it names none: for `pipelineConfigFromObject`.
 */
export async function pluginRegistries(raw: unknown, baseDir: string): Promise<PipelineRegistries | undefined> {
  const plugins = (raw as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(plugins) || plugins.length === 0 || !plugins.every((p) => typeof p === 'string')) return undefined;
  const registries = createPipelineRegistries();
  await loadPlugins(plugins, registries, { baseDir });
  return registries;
}

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipelineConfigFromObject, pluginRegistries, runPipeline } from '@tfpipe/pipeline';
import type { TrialContext, TrialOutput, Trial } from '@tfpipe/distributed';

/**
 * Runs one sweep trial: the trial's config (data paths already absolute) through the whole pipeline into
 * `<trial dir>/run` (a fresh one on each attempt). Reports the best epoch's figures (`val_accuracy`, `val_loss`, ...: what sweeps should
 * rank by) and the test metrics as `test_<name>`. A failed gate does not fail a trial.
 */
export async function runTrial(trial: Trial, ctx: TrialContext): Promise<TrialOutput> {
  // The config's plugins (absolute paths) register their types before it is validated.
  const registries = await pluginRegistries(trial.config, ctx.runDir);
  const loaded = pipelineConfigFromObject(trial.config, { baseDir: ctx.runDir, name: `${trial.id} config`, ...(registries ? { registries } : {}) });
  const runDir = join(ctx.runDir, 'run');
  // A retried trial starts over: its earlier attempt's run folder is the trial's own, not someone's run to keep.
  await rm(runDir, { recursive: true, force: true });
  const result = await runPipeline(loaded, {
    out: runDir,
    signal: ctx.signal,
    failOnGate: false,
    ...(ctx.logger ? { logger: ctx.logger } : {}),
  });
  const metrics: Record<string, number> = {};
  const best = result.fit.bestEpoch !== undefined ? result.fit.history.find((h) => h.epoch === result.fit.bestEpoch) : result.fit.history.at(-1);
  for (const [k, v] of Object.entries(best ?? {})) if (typeof v === 'number' && k !== 'epoch') metrics[k] = v;
  for (const [k, v] of Object.entries(result.evaluation?.metrics ?? {})) if (typeof v === 'number') metrics[`test_${k}`] = v;
  return { metrics, runDir };
}

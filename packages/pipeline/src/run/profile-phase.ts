import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Logger } from '@tfpipe/core';
import type { Dataset, Row } from '@tfpipe/data';
import { PROFILE_FILE, PredictionSketch, profileRows, writeProfile, type Profile } from '@tfpipe/monitor';
import type { Preprocessor } from '@tfpipe/preprocess';
import type { PipelineConfig } from '../schema.js';
import type { DataPhase } from './data-phase.js';
import { modelInputs } from './inputs.js';

/** Predictions summarized for the profile: at most this many rows of the validation split. */
const MAX_PREDICTED_ROWS = 10_000;
const TEXT_TRANSFORMS = new Set(['tokenize', 'bag-of-words']);

/** String columns the fitted preprocessing tokenizes: they are profiled as text, not as categories. */
export function textColumnsOf(pre: Preprocessor): string[] {
  const out = new Set<string>();
  for (const { config } of pre.toJSON().transforms) {
    const c = config as { type: string; column?: string; columns?: string[] };
    if (!TEXT_TRANSFORMS.has(c.type)) continue;
    if (c.column) out.add(c.column);
    for (const name of c.columns ?? []) out.add(name);
  }
  return [...out];
}

const ANONYMIZING = new Set(['drop', 'hash', 'generalize', 'redact', 'k-anonymity']);

/** Columns the config marks as personal by anonymizing them. */
export function personalColumnsOf(pre: DataPhase['pre']): string[] {
  const out = new Set<string>();
  for (const t of pre.toJSON().transforms) {
    if (!ANONYMIZING.has(t.config.type)) continue;
    const c = t.config as { column?: string; columns?: string[] };
    if (c.column) out.add(c.column);
    for (const name of c.columns ?? []) out.add(name);
  }
  return [...out];
}

/** Runs rows through the run's preprocessing and the model, batch by batch, into the prediction summary. */
export async function summarizePredictions(
  rows: Dataset<Row>,
  parts: { model: tfl.LayersModel; data: Pick<DataPhase, 'pre' | 'tz'>; seed: number; split: string; maxRows?: number },
): Promise<Profile['predictions']> {
  const sketch = new PredictionSketch({ seed: parts.seed });
  const { pre, tz } = parts.data;
  for await (const chunk of rows.take(parts.maxRows ?? MAX_PREDICTED_ROWS).batch(256)) {
    const batch = tz.toBatch(chunk.map((r) => pre.transform(r)), { withLabels: false });
    try {
      const out = parts.model.predictOnBatch(modelInputs(parts.model, batch.xs)) as tf.Tensor;
      try {
        for (const p of tz.decode(out)) sketch.add(p);
      } finally {
        out.dispose();
      }
    } finally {
      tf.dispose(batch.xs instanceof tf.Tensor ? batch.xs : Object.values(batch.xs));
    }
  }
  return sketch.finish(parts.split);
}

/**
 * `model/profile.json` (@tfpipe/monitor): the training split's raw input columns (the label left out) and
 * the model's predictions on the validation split (the test split, or train, when there is none), so
 * `pipeline drift` never needs the training data again.
 */
export async function writeRunProfile(modelDir: string, parts: { cfg: PipelineConfig; data: DataPhase; model: tfl.LayersModel; logger: Logger }): Promise<Profile> {
  const { cfg, data } = parts;
  const labels = typeof cfg.data.label === 'string' ? [cfg.data.label] : (cfg.data.label ?? []);
  const profile = await profileRows(data.train, {
    columns: data.source.columns,
    // Personal data stays out of the run directory: columns an anonymizing transform touches (drop, hash,
    // generalize, redact) are not profiled at all, since a profile keeps samples of raw values.
    exclude: [...labels, ...personalColumnsOf(data.pre)],
    text: textColumnsOf(data.pre),
    seed: cfg.seed,
    split: 'train',
  });
  const [split, rows] = data.validation ? ['validation', data.validation] : data.test ? ['test', data.test] : ['train', data.train];
  const predictions = await summarizePredictions(rows, { model: parts.model, data, seed: cfg.seed, split });
  if (predictions) profile.predictions = predictions;
  const path = await writeProfile(modelDir, profile);
  const shown = relative(process.cwd(), path);
  parts.logger.info(
    `profile: ${profile.rows.toLocaleString('en-US')} training rows, ${Object.keys(profile.columns).length} columns; predictions on ${predictions?.rows ?? 0} ${split} rows → ${shown && !shown.startsWith('..') ? shown : join(modelDir, PROFILE_FILE)}`,
  );
  return profile;
}

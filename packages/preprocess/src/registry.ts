import { z } from 'zod';
import { createRegistry, registrySchema, type Registry } from '@tfpipe/core';
import type { TransformEntry } from './transform.js';
import { bagOfWords } from './transforms/bag-of-words.js';
import { clip } from './transforms/clip.js';
import { imageAugment } from './transforms/image-augment.js';
import { imageNormalize } from './transforms/image-normalize.js';
import { imageResize } from './transforms/image-resize.js';
import { impute } from './transforms/impute.js';
import { labelEncode } from './transforms/label-encode.js';
import { log } from './transforms/log.js';
import { minMax } from './transforms/min-max.js';
import { oneHot } from './transforms/one-hot.js';
import { rescale } from './transforms/rescale.js';
import { standardize } from './transforms/standardize.js';
import { tokenize } from './transforms/tokenize.js';
import { drop } from './transforms/drop.js';
import { generalize } from './transforms/generalize.js';
import { hash } from './transforms/hash.js';
import { kAnonymity } from './transforms/k-anonymity.js';
import { redact } from './transforms/redact.js';

export type TransformRegistry = Registry<TransformEntry>;

const BUILT_INS = [
  standardize,
  minMax,
  rescale,
  impute,
  clip,
  log,
  oneHot,
  labelEncode,
  tokenize,
  bagOfWords,
  imageResize,
  imageNormalize,
  imageAugment,
  drop,
  hash,
  generalize,
  redact,
  kAnonymity,
] as const;

/** A fresh registry holding the built-in transforms; register your own with `.register({ type, schema, create })`. */
export function createTransformRegistry(): TransformRegistry {
  return createRegistry<TransformEntry>('transform', BUILT_INS as unknown as TransformEntry[]);
}

/** One `preprocess:` list item of a registry: a union discriminated on `type` over every registered transform. */
export function transformSchemaFor(registry: TransformRegistry) {
  return registrySchema(registry, 'A preprocessing transform; `type` picks it, `column` or `columns` names what it applies to.');
}

/** The `preprocess:` section of a registry: transforms applied (and fitted) in order. */
export function preprocessSchemaFor(registry: TransformRegistry) {
  return z.array(transformSchemaFor(registry)).describe('Transforms fitted on the training split only, in order, each on the output of the previous ones.');
}

/** One `preprocess:` list item of the built-in transforms. */
export const transformSchema = transformSchemaFor(createTransformRegistry());

/** The `preprocess:` section of the built-in transforms. */
export const preprocessSchema = preprocessSchemaFor(createTransformRegistry());

export type TransformConfig = z.output<typeof transformSchema>;
export type TransformInput = z.input<typeof transformSchema>;

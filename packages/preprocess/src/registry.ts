import { z } from 'zod';
import { createRegistry, type Registry } from '@tfpipe/core';
import type { TransformEntry } from './transform.js';
import { bagOfWords, bagOfWordsSchema } from './transforms/bag-of-words.js';
import { clip, clipSchema } from './transforms/clip.js';
import { imageAugment, imageAugmentSchema } from './transforms/image-augment.js';
import { imageNormalize, imageNormalizeSchema } from './transforms/image-normalize.js';
import { imageResize, imageResizeSchema } from './transforms/image-resize.js';
import { impute, imputeSchema } from './transforms/impute.js';
import { labelEncode, labelEncodeSchema } from './transforms/label-encode.js';
import { log, logSchema } from './transforms/log.js';
import { minMax, minMaxSchema } from './transforms/min-max.js';
import { oneHot, oneHotSchema } from './transforms/one-hot.js';
import { rescale, rescaleSchema } from './transforms/rescale.js';
import { standardize, standardizeSchema } from './transforms/standardize.js';
import { tokenize, tokenizeSchema } from './transforms/tokenize.js';
import { drop, dropSchema } from './transforms/drop.js';
import { generalize, generalizeSchema } from './transforms/generalize.js';
import { hash, hashSchema } from './transforms/hash.js';
import { kAnonymity, kAnonymitySchema } from './transforms/k-anonymity.js';
import { redact, redactSchema } from './transforms/redact.js';

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

/** One `preprocess:` list item, discriminated by `type`. */
export const transformSchema = z
  .discriminatedUnion('type', [
    standardizeSchema,
    minMaxSchema,
    rescaleSchema,
    imputeSchema,
    clipSchema,
    logSchema,
    oneHotSchema,
    labelEncodeSchema,
    tokenizeSchema,
    bagOfWordsSchema,
    imageResizeSchema,
    imageNormalizeSchema,
    imageAugmentSchema,
    dropSchema,
    hashSchema,
    generalizeSchema,
    redactSchema,
    kAnonymitySchema,
  ])
  .describe('A preprocessing transform; `type` picks it, `column` or `columns` names what it applies to.');

/** The `preprocess:` section: transforms applied (and fitted) in order. */
export const preprocessSchema = z.array(transformSchema).describe('Transforms fitted on the training split only, in order, each on the output of the previous ones.');

export type TransformConfig = z.output<typeof transformSchema>;
export type TransformInput = z.input<typeof transformSchema>;

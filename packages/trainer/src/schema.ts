import { z } from 'zod';
import { parseSection } from '@tfpipe/core';
import { callbackItemSchema } from './callbacks/registry.js';
import { earlyStoppingSchema } from './early-stopping.js';
import { lossSchema } from './losses.js';
import { optimizerSchema } from './optimizers.js';
import { scheduleSchema } from './schedules.js';
import { privacySchema } from './privacy/schema.js';

const l1l2Schema = z
  .object({
    l1: z.number().min(0).default(0).describe('L1 factor: adds l1 * sum(|w|)'),
    l2: z.number().min(0).default(0).describe('L2 factor: adds l2 * sum(w^2) (Keras convention, no 1/2)'),
  })
  .strict();

export const regularizationSchema = z
  .object({
    l1: z.number().min(0).default(0).describe('L1 on every trainable weight of rank >= 2 (kernels, embeddings; not biases)'),
    l2: z.number().min(0).default(0).describe('L2 on every trainable weight of rank >= 2'),
    layers: z
      .record(z.string(), l1l2Schema)
      .optional()
      .describe('Per layer name: replaces the global factors for that layer'),
  })
  .strict()
  .describe('Weight penalties added by the trainer (on top of the kernel regularizers the model itself declares)');

export const checkpointSchema = z
  .object({
    every: z.number().int().min(1).default(1).describe('Save checkpoints/last every N epochs (and always at the end)'),
    best: z.boolean().default(true).describe('Save checkpoints/best whenever the monitored value improves'),
  })
  .strict()
  .describe('Checkpoints in <runDir>/checkpoints (needs a runDir)');

export const trainSchema = z
  .object({
    epochs: z.number().int().min(1).default(10).describe('Epochs to train'),
    batchSize: z.number().int().min(1).default(32).describe('Samples per batch (used by whoever builds the batches)'),
    optimizer: optimizerSchema.default({ type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }),
    schedule: scheduleSchema.optional().describe('Learning rate schedule (default: constant)'),
    loss: lossSchema.optional(),
    lossWeights: z.record(z.string(), z.number().min(0)).optional().describe('Weight of each named output in the total loss (default 1 each)'),
    metrics: z.array(z.string()).optional().describe('Metric names computed on training and validation batches'),
    trainMetrics: z.boolean().default(true).describe('Also compute the metrics on training batches (one read per step)'),
    labelSmoothing: z.number().min(0).lt(1).default(0).describe('Cross-entropy label smoothing: y * (1 - e) + e / classes'),
    classWeight: z
      .record(z.string(), z.number().min(0))
      .optional()
      .describe('Loss weight per class (class index, or label name when the task has labels); missing classes weigh 1'),
    regularization: regularizationSchema.optional(),
    gradientClip: z
      .object({
        norm: z.number().gt(0).optional().describe('Scale all gradients down so their global L2 norm is at most this'),
        value: z.number().gt(0).optional().describe('Clip each gradient element to [-value, value]'),
      })
      .strict()
      .optional()
      .describe('Gradient clipping (value first, then norm)'),
    earlyStopping: earlyStoppingSchema.optional(),
    validationEverySteps: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Also evaluate the validation set every N steps (it is always evaluated at each epoch end)'),
    parallel: z
      .union([z.literal('auto'), z.number().int().min(0)])
      .default(0)
      .describe(
        'Data-parallel gradients over worker threads (wasm/cpu backends): extra threads, or auto = cores - 1; 0 = off. On wasm the backend already uses every core for convolutional models; this is about as fast on an idle 2-core machine (MNIST CNN 2,139 vs 2,071 samples/s) and slower on a busy one',
      ),
    checkpoint: checkpointSchema.default({ every: 1, best: true }),
    leakCheck: z
      .enum(['error', 'warn', 'off'])
      .default('error')
      .describe('Compare the live tensor count across epochs; "error" stops with E_TRAIN on a leak'),
    onNaN: z
      .enum(['error', 'stop'])
      .default('error')
      .describe('On a NaN/Inf loss: "error" throws E_TRAIN naming epoch and step; "stop" returns stopReason "nan"'),
    callbacks: z
      .array(callbackItemSchema)
      .optional()
      .describe('More callbacks by registered type (built-in: earlyStopping; register your own with createCallbackRegistry().register)'),
    privacy: privacySchema.optional(),
    tensorboard: z.boolean().default(true).describe('Write TensorBoard event files into the runDir'),
    logEverySteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Also write the batch loss to TensorBoard every N steps (0: per epoch only)'),
  })
  .strict()
  .describe('Training');
export type TrainConfig = z.infer<typeof trainSchema>;
/** The config as written (defaults optional). */
export type TrainConfigInput = z.input<typeof trainSchema>;

/** Configs that went through trainSchema (here or as part of a bigger schema): parsed once, never again. */
const parsedConfigs = new WeakSet<object>();

/**
 * Parses a train config; zod problems become one E_CONFIG error with paths under `train`. A config this
 * function (or `parsedTrainConfig`) returned before is returned as it is: a section is parsed once, where it enters.
 */
export function parseTrainConfig(input: unknown): TrainConfig {
  if (typeof input === 'object' && input !== null && parsedConfigs.has(input)) return input as TrainConfig;
  const config = parseSection(trainSchema, input, ['train']);
  parsedConfigs.add(config);
  return config;
}

/**
 * Marks a config that is already parsed — by a schema that composes `trainSchema` (the pipeline's), or
 * derived from a parsed one (a fine-tuning stage's epochs and learning rate) — so `fit` does not parse it again.
 */
export function parsedTrainConfig(config: TrainConfig): TrainConfig {
  parsedConfigs.add(config);
  return config;
}

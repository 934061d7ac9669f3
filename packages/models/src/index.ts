export type {
  BuildContext,
  EncodeContext,
  InitializerSpec,
  ModelRegistry,
  Regularization,
} from './_common.js';
export {
  activationSchema,
  initializerSchema,
  kernelOptions,
  makeInitializer,
  regularizationSchema,
} from './_common.js';
export type { BuildModelOptions } from './build-model.js';
export { buildModel, modelLosses } from './build-model.js';
export type { ModelBuilder } from './builder.js';
export type { CnnConfig, ConvBlockConfig } from './cnn.js';
export { cnnSchema, convBlockSchema } from './cnn.js';
export { CUSTOM_LAYERS, registerCustomLayers } from './custom-layers.js';
export type { FusionConfig } from './fusion.js';
export { fusionSchema } from './fusion.js';
export type { HeadConfig, NamedOutputConfig, OutputConfig } from './heads.js';
export { defaultLoss, headSchema, namedOutputSchema, outputSchema, taskOutput, taskSchema } from './heads.js';
export { MultiHeadSelfAttention } from './layers/attention.js';
export { TokenAndPositionEmbedding } from './layers/embedding.js';
export { AttentionPooling, MaskedSequencePooling } from './layers/pooling.js';
export { SeededDropout } from './layers/seeded-dropout.js';
export type { LayersConfig } from './layers-list.js';
export { LIST_LAYER_TYPES, layersSchema } from './layers-list.js';
export type { LogisticConfig } from './logistic.js';
export { logisticSchema } from './logistic.js';
export type { LinearConfig } from './linear.js';
export { linearSchema } from './linear.js';
export type { MlpConfig } from './mlp.js';
export { mlpSchema } from './mlp.js';
export type { ModelConfig } from './registry.js';
export { BUILTIN_MODELS, createModelRegistry, modelSchema, modelSchemaFor } from './registry.js';
export type { RnnConfig } from './rnn.js';
export { rnnSchema } from './rnn.js';
export type { TransformerConfig } from './transformer.js';
export { transformerSchema } from './transformer.js';
export { validateModelConfig } from './validate.js';

export { finetuneSchema, parseFinetuneConfig } from './schema.js';
export type { FinetuneConfig, FinetuneConfigInput } from './schema.js';
export { prepareFinetune, cloneModel } from './prepare.js';
export type { PreparedFinetune } from './prepare.js';
export { loadBase, findModelDir, loadModelCopy } from './base.js';
export type { LoadedBase } from './base.js';
export { compilePattern, matchNames } from './patterns.js';
export type { LayerPattern } from './patterns.js';
export {
  freezeSpecSchema,
  unfreezeSpecSchema,
  freezeLayers,
  unfreezeLayers,
  selectLayers,
  frozenBatchNormInference,
  countParams,
  modelLayers,
  weightedLayers,
} from './freeze.js';
export type { FreezeSpec, SelectOptions } from './freeze.js';
export { finetuneHeadSchema, replaceHead } from './head.js';
export type { FinetuneHeadConfig, FinetuneHeadInput, ReplaceHeadOptions } from './head.js';
export { stageSchema, runStages } from './stages.js';
export type { StageConfig, StageInput, StageResult, StagedEpochLog, RunStagesOptions } from './stages.js';
export { layerLearningRatesSchema, layerLearningRateCallback, resolveLayerMultipliers, UpdateScaler } from './layer-lr.js';
export type { LayerLearningRates } from './layer-lr.js';
export { loraSchema, applyLora, mergeLora, planLora, injectLora, adaptableLayers, loraLayers } from './lora/apply.js';
export type { LoraConfig, LoraConfigInput, LoraLayerPlan } from './lora/apply.js';
export { LoraDense, LoraSelfAttention, ATTENTION_PROJECTIONS, FINETUNE_LAYERS, registerFinetuneLayers } from './lora/layers.js';
export type { AttentionProjection, LoraDenseArgs, LoraOptions, LoraSelfAttentionArgs } from './lora/layers.js';
export { saveAdapters, loadAdapters, adapterPlan, ADAPTERS_JSON, ADAPTERS_BIN } from './lora/adapters.js';
export type { AdaptersFile } from './lora/adapters.js';
export { copyWeightsByName } from './lora/rewrite.js';
export { adversarialSchema, createPerturb, evaluateRobustness, attackConfig } from './adversarial.js';
export type { AdversarialConfig, AdversarialInput } from './adversarial.js';
export { compareBeforeAfter } from './compare.js';
export type { BeforeAfter } from './compare.js';

import * as tf from '@tensorflow/tfjs-core';
import { MultiHeadSelfAttention } from './layers/attention.js';
import { TokenAndPositionEmbedding } from './layers/embedding.js';
import { AttentionPooling, MaskedSequencePooling } from './layers/pooling.js';
import { SeededDropout } from './layers/seeded-dropout.js';

/** The custom layer classes tfpipe models may contain. */
export const CUSTOM_LAYERS = [
  SeededDropout,
  MultiHeadSelfAttention,
  TokenAndPositionEmbedding,
  MaskedSequencePooling,
  AttentionPooling,
] as const;

/**
 * Registers tfpipe's custom layers with tf.serialization so saved models load. Idempotent; call it before
 * `tfl.loadLayersModel` (buildModel calls it too).
 */
export function registerCustomLayers(): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of CUSTOM_LAYERS) {
    if (!(cls.className in known))
      tf.serialization.registerClass(
        cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
      );
  }
}

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed } from '@tfpipe/core';
import { type InitializerSpec, makeInitializer } from '../_common.js';

export interface TokenAndPositionEmbeddingArgs {
  vocabSize: number;
  maxLen: number;
  embedDim: number;
  seed: number;
  embeddingsInitializer?: InitializerSpec;
  name?: string;
}

/** Token embedding plus a learned position embedding: ids [b, l] → [b, l, embedDim]. */
export class TokenAndPositionEmbedding extends tfl.layers.Layer {
  static className = 'TfpipeTokenAndPositionEmbedding';
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly embedDim: number;
  readonly seed: number;
  readonly embeddingsInitializer: InitializerSpec;
  private tokens: tfl.LayerVariable | undefined;
  private positions: tfl.LayerVariable | undefined;

  constructor(args: TokenAndPositionEmbeddingArgs) {
    super(args);
    this.vocabSize = args.vocabSize;
    this.maxLen = args.maxLen;
    this.embedDim = args.embedDim;
    this.seed = args.seed;
    this.embeddingsInitializer = args.embeddingsInitializer ?? {
      type: 'randomUniform',
      minval: -0.05,
      maxval: 0.05,
    };
  }

  override build(): void {
    const init = (i: number) => makeInitializer(this.embeddingsInitializer, hashSeed(`${this.seed}:${i}`));
    this.tokens = this.addWeight(
      'token_embeddings',
      [this.vocabSize, this.embedDim],
      'float32',
      init(0),
      undefined,
      true,
    );
    this.positions = this.addWeight(
      'position_embeddings',
      [this.maxLen, this.embedDim],
      'float32',
      init(1),
      undefined,
      true,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [...(inputShape as tfl.Shape), this.embedDim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = tf.cast(Array.isArray(inputs) ? inputs[0]! : inputs, 'int32');
      const l = ids.shape[1]!;
      const tok = tf.gather(this.tokens!.read(), ids);
      const pos = tf.slice(this.positions!.read(), [0, 0], [l, this.embedDim]);
      return tf.add(tok, pos);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      vocabSize: this.vocabSize,
      maxLen: this.maxLen,
      embedDim: this.embedDim,
      seed: this.seed,
      embeddingsInitializer: this.embeddingsInitializer as tf.serialization.ConfigDictValue,
    };
  }
}

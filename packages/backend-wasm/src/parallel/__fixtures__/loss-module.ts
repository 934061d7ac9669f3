import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** A ShardLossFactory: weighted squared error of output 0 plus an L2 penalty on the first kernel. */
export function createShardLoss(model: tfl.LayersModel, options: unknown) {
  const { l2 } = options as { l2: number };
  const kernel = model.trainableWeights[0]!.read();
  return (yTrue: tf.Tensor[], yPred: tf.Tensor[], sampleWeight?: tf.Tensor) =>
    tf.tidy(() => {
      const se = tf.sum(tf.square(tf.sub(yPred[0]!, yTrue[0]!)), -1);
      const data = tf.mean(sampleWeight ? tf.mul(se, sampleWeight) : se);
      return tf.add(data, tf.mul(l2, tf.sum(tf.square(kernel)))) as tf.Scalar;
    });
}

/** A custom layer (y = x * s, s trainable): a worker can rebuild it only after registerFixtureLayers(). */
export class FixtureScale extends tfl.layers.Layer {
  static readonly className = 'FixtureScale';
  private s!: tfl.LayerVariable;
  override build(): void {
    this.s = this.addWeight('s', [1], 'float32', tfl.initializers.constant({ value: 1.5 }));
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, this.s.read());
  }
}

/** Registers FixtureScale with the tfjs serialization registry (what @tfpipe/models' registerCustomLayers does). */
export function registerFixtureLayers(): void {
  tf.serialization.registerClass(FixtureScale);
}

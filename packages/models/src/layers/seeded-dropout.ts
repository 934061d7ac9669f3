import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, type Rng, type RngState } from '@tfpipe/core';

export interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

/**
 * Dropout whose masks come from a seeded stream: a fresh mask every training call, the same sequence of
 * masks for the same seed. (tfjs's Dropout with a `seed` draws the *same* mask on every step.)
 * The generator's state goes into the trainer's checkpoints (`getRandomState`/`setRandomState`), so a
 * resumed run draws the masks an uninterrupted one would.
 */
export class SeededDropout extends tfl.layers.Layer {
  static className = 'TfpipeSeededDropout';
  readonly rate: number;
  readonly seed: number;
  private rng: Rng;

  constructor(args: SeededDropoutArgs) {
    super(args);
    this.rate = args.rate;
    this.seed = args.seed;
    this.rng = createRng(args.seed);
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs.training !== true || this.rate === 0) return x;
    const seed = this.rng.seed32();
    return tf.tidy(() => tf.dropout(x, this.rate, undefined, seed));
  }

  /** The mask generator's state (four uint32s), for checkpoints. */
  getRandomState(): RngState {
    return this.rng.getState();
  }

  setRandomState(state: unknown): void {
    this.rng.setState(state as RngState);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

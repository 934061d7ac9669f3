import '@tensorflow/tfjs-backend-cpu';
import '@tfpipe/backend-wasm';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Batch, createRng, fileSystemIO, type TaskSpec } from '@tfpipe/core';
import { buildModel } from '@tfpipe/models';
import { expectTensorsClose } from '@tfpipe/test-utils';
import { fit } from '@tfpipe/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, sentences, vocabulary } from '../__fixtures__/sentiment.js';
import { compareBeforeAfter } from '../compare.js';
import { prepareFinetune } from '../prepare.js';
import { runStages } from '../stages.js';
import { saveAdapters } from './adapters.js';
import { mergeLora } from './apply.js';
import { LoraSelfAttention } from './layers.js';

// A small transformer trained briefly on imdb + amazon review sentences, adapted with LoRA to yelp reviews.
const maxLen = 16;
const task: TaskSpec = { kind: 'binary' };
let root: string;
let vocab: Map<string, number>;

function batches(rows: { text: string; label: number }[], batchSize = 32): () => AsyncIterable<Batch> {
  const { x, y } = encode(rows, vocab, maxLen);
  return async function* () {
    for (let i = 0; i < rows.length; i += batchSize) {
      const m = Math.min(batchSize, rows.length - i);
      yield { xs: tf.tensor2d(x.subarray(i * maxLen, (i + m) * maxLen), [m, maxLen], 'int32'), ys: tf.tensor2d(y.subarray(i, i + m), [m, 1]) };
    }
  };
}

const yelp = createRng(3).shuffle(sentences('yelp'));
const yelpTrain = yelp.slice(0, 250);
const yelpTest = yelp.slice(700, 1000);

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tfpipe-ft-text-'));
  const pre = createRng(1).shuffle([...sentences('imdb'), ...sentences('amazon')]).slice(0, 400);
  vocab = vocabulary([...pre, ...yelpTrain].map((r) => r.text), 300);
  const model = buildModel(
    { type: 'transformer', embedDim: 16, numHeads: 2, ffDim: 32, blocks: 1, dropout: 0 },
    { inputs: [{ name: 'text', shape: [maxLen], kind: 'text', vocabSize: 300 }], task, seed: 2 },
  );
  // The embedding's gradient is slow on the cpu backend (a loop over the vocabulary): few steps, small vocabulary.
  await fit(model, { config: { epochs: 2, optimizer: { type: 'adam', learningRate: 0.01 }, tensorboard: false }, train: batches(pre, 50), task });
  await model.save(fileSystemIO(join(root, 'pretrained')));
  model.dispose();
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('LoRA on a transformer', () => {
  it('adapts attention and feed-forward layers only, improves on the new domain, merges and saves adapters', async () => {
    const prepared = await prepareFinetune(
      { base: 'pretrained', lora: { rank: 4, alpha: 8, target: ['self_attention_*', 'ff_dense_*'], projections: ['query', 'value'], trainable: ['output'] } },
      { task, seed: 5, baseDir: root },
    );
    expect(prepared.lora!.map((p) => p.layer)).toEqual(['self_attention_0', 'ff_dense_0', 'ff_dense_1']);
    // Adapters: attention q and v 2 x (16x4 + 4x16); ff_dense_0 16→32: 16x4 + 4x32; ff_dense_1 32→16: 32x4 + 4x16.
    // Plus the output layer, which trains fully (16 + 1).
    expect(prepared.trainableParams).toBe(2 * 128 + 192 + 192 + 17);
    expect(prepared.trainableParams / prepared.totalParams).toBeLessThan(0.1);
    // B = 0: the adapted model predicts as the base.
    const probe = (await batches(yelpTest.slice(0, 32))()[Symbol.asyncIterator]().next()).value as Batch;
    expectTensorsClose(prepared.model.predict(probe.xs as tf.Tensor) as tf.Tensor, prepared.base.model.predict(probe.xs as tf.Tensor) as tf.Tensor, 1e-6, 1e-5);

    const frozenBefore = prepared.model.getLayer('token_position_embedding_0').getWeights()[0]!.dataSync().slice();
    await runStages(prepared.model, { config: { epochs: 8, optimizer: { type: 'adam', learningRate: 0.02 }, tensorboard: false }, train: batches(yelpTrain, 50), task });
    expectTensorsClose(prepared.model.getLayer('token_position_embedding_0').getWeights()[0]!, frozenBefore, 0, 0);

    const cmp = await compareBeforeAfter(prepared.before, prepared.model, batches(yelpTest, 100), { task, metrics: ['accuracy'] });
    console.log(`yelp LoRA: accuracy before ${cmp.before.metrics.accuracy!.toFixed(3)}, after ${cmp.after.metrics.accuracy!.toFixed(3)}; trainable ${prepared.trainableParams} of ${prepared.totalParams} parameters`);
    expect(cmp.delta.accuracy).toBeGreaterThan(0);
    expect(cmp.delta.loss).toBeLessThan(0);

    // Merging folds the adapters into plain layers with the same predictions.
    const merged = await mergeLora(prepared.model);
    expect(merged.layers.some((l) => l instanceof LoraSelfAttention)).toBe(false);
    const a = prepared.model.predict(probe.xs as tf.Tensor) as tf.Tensor;
    const b = merged.predict(probe.xs as tf.Tensor) as tf.Tensor;
    expectTensorsClose(b, a, 1e-5, 1e-4);

    // Adapters alone: a small file, loaded back onto the base.
    const saved = await saveAdapters(prepared.model, join(root, 'adapters'));
    expect(saved.params).toBe(prepared.trainableParams); // adapters + the output layer that trained beside them
    expect((await stat(join(root, 'adapters', 'adapters.bin'))).size).toBe(4 * saved.params);
    const again = await prepareFinetune({ base: 'pretrained', adapters: 'adapters' }, { task, seed: 0, baseDir: root });
    const c = again.model.predict(probe.xs as tf.Tensor) as tf.Tensor;
    expectTensorsClose(c, a, 1e-6, 1e-5);
    tf.dispose([probe.xs as tf.Tensor, probe.ys as tf.Tensor, a, b, c]);
    for (const m of [merged, again.model, prepared.model] as tfl.LayersModel[]) m.dispose();
  });
});

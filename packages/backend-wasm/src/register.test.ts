// Types of the chained tensor methods (x.mul(y)); installChainedOps() from @tfpipe/core puts them in place at run time.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '@tfpipe/core';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useWasmBackend, WASM_TRAINING_KERNELS } from './index.js';

function mnistLikeCnn(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 1], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return m;
}

describe('registration', () => {
  afterEach(() => vi.restoreAllMocks());

  it('importing the package registers every training kernel for wasm', () => {
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  });

  it('is idempotent and never warns about duplicates', () => {
    const warn = vi.spyOn(console, 'warn');
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    unregisterWasmTrainingKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeUndefined();
    expect(tf.getKernel(tf.MaxPoolGrad, 'wasm')).toBeDefined(); // tfjs-backend-wasm's own, put back
    registerWasmTrainingKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('useWasmBackend selects wasm; useBackend("wasm") from core then trains a CNN', async () => {
    await useWasmBackend();
    expect(tf.getBackend()).toBe('wasm');
    await tf.setBackend('cpu');
    const choice = await useBackend('wasm');
    expect(choice.tfName).toBe('wasm');
    const model = mnistLikeCnn();
    const x = tf.randomUniform([4, 10, 10, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    const before = model.getWeights()[0]!.dataSync().slice();
    const loss = (await model.trainOnBatch(x, y)) as number;
    expect(Number.isFinite(loss)).toBe(true);
    expect(model.getWeights()[0]!.dataSync()).not.toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('memory', () => {
  it('a training step leaks no tensors and no wasm heap buffers', async () => {
    await useWasmBackend();
    const model = mnistLikeCnn();
    const x = tf.randomUniform([4, 10, 10, 1], 0, 1, 'float32', 5);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    const backend = tf.backend() as tf.KernelBackend & { numDataIds(): number };
    const step = () => model.trainOnBatch(x, y);
    await step();
    const heapBefore = backend.numDataIds();
    await expectNoLeakedTensors(step);
    expect(backend.numDataIds()).toBe(heapBefore);
    // Kernels called one by one: the intermediates they make inside are freed.
    await expectNoLeakedTensors(() => {
      const sums = tf.tidy(() => {
        const f = tf.randomNormal([3, 3, 1, 4], 0, 1, 'float32', 6) as tf.Tensor4D;
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 2, 2, 'same').sum());
        const [gx, gf] = g([x, f]);
        const emb = tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d([1, 1, 0], 'int32')).sum())(tf.ones([3, 2]));
        return [gx!.sum(), gf!.sum(), emb.sum(), tf.einsum('ij,jk->ik', tf.ones([2, 3]), tf.ones([3, 2]))];
      });
      tf.dispose(sums);
    });
    expect(backend.numDataIds()).toBe(heapBefore);
    tf.dispose([x, y]);
    model.dispose();
  });
});

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useWasmBackend } from '@tfpipe/backend-wasm';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { patchImages, regionMass, trainPatchCnn } from './__fixtures__/synthetic.js';
import { gradCam } from './grad-cam.js';
import { disposeAttributions, integratedGradients } from './integrated-gradients.js';

let model: tfl.LayersModel;
let x: tf.Tensor4D;

// The wasm backend (our training kernels): convolutions train ~100x faster there than on the cpu backend.
beforeAll(async () => {
  await useWasmBackend();
  if (tf.getBackend() !== 'wasm') throw new Error(`expected the wasm backend, got ${tf.getBackend()}`);
  model = await trainPatchCnn();
  // Held-out positives: the bright patch (class 1) sits somewhere in the top-left 8x8 region.
  const test = patchImages(40, 99);
  const positives = test.labels.flatMap((l, i) => (l === 1 ? [i] : []));
  x = tf.gather(test.x, positives) as tf.Tensor4D;
  tf.dispose([test.x, test.y]);
});

describe('Grad-CAM', () => {
  it('the trained model is right (else the maps mean nothing)', () => {
    const test = patchImages(100, 123);
    const pred = tf.tidy(() => Array.from(tf.argMax(model.predict(test.x) as tf.Tensor, 1).dataSync()));
    const acc = pred.filter((p, i) => p === test.labels[i]).length / pred.length;
    expect(acc).toBeGreaterThanOrEqual(0.95);
    tf.dispose([test.x, test.y]);
  });

  it('puts >= 90% of the map in the region the label depends on (last conv by default)', () => {
    const r = gradCam(model, x, { target: 1 });
    expect(r.layer).toBe('conv_1');
    expect(r.heatmap.shape).toEqual([x.shape[0], 16, 16]);
    const mass = regionMass(r.heatmap);
    const mean = mass.reduce((a, b) => a + b, 0) / mass.length;
    expect(mean).toBeGreaterThanOrEqual(0.9);
    // The region is a quarter of the image: a map that ignored the input would put ~25% there.
    r.heatmap.dispose();
  });

  it('any named layer, at its own resolution on request; unknown names list the layers', () => {
    const r = gradCam(model, x, { target: 1, layer: 'conv_0', upsample: false });
    expect(r.heatmap.shape).toEqual([x.shape[0], 16, 16]);
    const pooled = gradCam(model, x, { target: 1, layer: 'conv_1', upsample: false });
    expect(pooled.heatmap.shape).toEqual([x.shape[0], 8, 8]);
    tf.dispose([r.heatmap, pooled.heatmap]);
    expect(() => gradCam(model, x, { layer: 'conv_9' })).toThrow(/conv_0, pool_0, conv_1/);
  });

  it('integrated gradients put >= 90% of |attribution| in the region too', () => {
    const r = integratedGradients(model, x, { target: 1, steps: 32 });
    const mass = regionMass(r.attributions.image!);
    expect(mass.reduce((a, b) => a + b, 0) / mass.length).toBeGreaterThanOrEqual(0.9);
    for (const g of r.gap) expect(g).toBeLessThan(0.01);
    disposeAttributions(r);
  });

  it('blurred-image baseline: completeness holds against f(blurred image)', () => {
    const r = integratedGradients(model, tf.slice(x, 0, 2), { target: 1, steps: 50, baseline: 'blur', blurSigma: 3 });
    for (const g of r.gap) expect(g).toBeLessThan(0.01);
    for (let i = 0; i < 2; i++) expect(r.outputs[i]!).toBeGreaterThan(r.baselineOutputs[i]!);
    disposeAttributions(r);
  });

  it('leaks no tensors', async () => {
    const one = tf.slice(x, 0, 2);
    await expectNoLeakedTensors(() => gradCam(model, one).heatmap.dispose());
    one.dispose();
  });
});

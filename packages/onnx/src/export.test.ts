import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { installChainedOps } from '@tfpipe/backend-wasm';
import { createRng } from '@tfpipe/core';
import { buildModel } from '@tfpipe/models';
import { expectNoLeakedTensors } from '@tfpipe/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
// The models package's shared contract cases: one of every model type the zoo builds.
import { CASES, makeXs } from '../../models/src/__fixtures__/cases.js';
import { OnnxModel, exportOnnx } from './index.js';

beforeAll(async () => {
  installChainedOps();
  await tf.setBackend('cpu');
});

/** Every weight set to seeded random values (moving variances positive), so nothing is trivially zero. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = createRng(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const positive = /variance/.test(w.name);
    const data = Float32Array.from({ length: size }, () => (positive ? 0.5 + Math.abs(rng.normal()) : 0.4 * rng.normal()));
    w.write(tf.tensor(data, shape));
  }
}

/** Left-aligned text rows moved to the right end (pre-padding), to check both paddings of masked layers. */
function prePadded(x: tf.Tensor): tf.Tensor {
  const [n, l] = x.shape as [number, number];
  const v = x.arraySync() as number[][];
  const out = v.map((row) => {
    const real = row.filter((t) => t !== 0);
    return [...new Array<number>(l - real.length).fill(0), ...real];
  });
  return tf.tensor(out, [n, l], x.dtype);
}

async function compare(model: tfl.LayersModel, xs: Record<string, tf.Tensor>): Promise<number> {
  const names = model.inputNames.length ? model.inputNames : model.inputs.map((i) => i.sourceLayer.name);
  const ordered = names.map((n) => xs[n] ?? xs[Object.keys(xs)[0]!]!);
  const expected = model.predict(ordered.length === 1 ? ordered[0]! : ordered) as tf.Tensor | tf.Tensor[];
  const expList = Array.isArray(expected) ? expected : [expected];
  const { bytes, inputs, outputs } = exportOnnx(model);
  const onnx = await OnnxModel.load(bytes, { threads: 1 });
  try {
    const feeds = Object.fromEntries(inputs.map((io, i) => [io.name, { data: Float32Array.from(ordered[i]!.dataSync()), shape: ordered[i]!.shape }]));
    const got = await onnx.run(feeds);
    let worst = 0;
    outputs.forEach((io, i) => {
      const e = expList[i]!.dataSync();
      const o = got[io.name]!;
      expect(o.shape).toEqual(expList[i]!.shape);
      for (let k = 0; k < e.length; k++) worst = Math.max(worst, Math.abs(e[k]! - o.data[k]!));
    });
    return worst;
  } finally {
    tf.dispose(expList);
    await onnx.dispose();
  }
}

describe('ONNX export matches tfjs (onnxruntime-node, every model type of the zoo)', () => {
  for (const c of CASES) {
    it(`${c.name}: outputs within 1e-4`, async () => {
      const model = buildModel(c.config as never, { inputs: c.inputs, task: c.task, ...(c.tasks ? { tasks: c.tasks } : {}), seed: 3 } as never);
      randomizeWeights(model, 5);
      const xs = makeXs(c.inputs, 6, 9);
      expect(await compare(model, xs)).toBeLessThan(1e-4);
      if (c.inputs.some((s) => s.kind === 'text')) {
        const pre = Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, c.inputs.find((s) => s.name === k)?.kind === 'text' ? prePadded(v) : tf.clone(v)]));
        expect(await compare(model, pre)).toBeLessThan(1e-4);
        tf.dispose(Object.values(pre));
      }
      tf.dispose(Object.values(xs));
      model.dispose();
    });
  }
});

describe('ONNX export', () => {
  it('names the layer and its class it cannot convert', () => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 }), tfl.layers.permute({ dims: [1] })] });
    expect(() => exportOnnx(m)).toThrow(/layer "permute_\w+" of class Permute is not supported/);
  });

  it('writes its inputs, outputs and metadata into the file', () => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] });
    const e = exportOnnx(m, { metadata: { labels: '["a","b"]' } });
    expect(e.opset).toBe(13);
    expect(e.inputs[0]!.shape).toEqual([-1, 3]);
    expect(e.outputs[0]!.shape).toEqual([-1, 2]);
    expect(Buffer.from(e.bytes).toString('latin1')).toContain('["a","b"]');
  });

  it('leaks no tensors', async () => {
    const c = CASES.find((x) => x.name === 'rnn lstm text')!;
    const model = buildModel(c.config as never, { inputs: c.inputs, task: c.task, seed: 3 } as never);
    await expectNoLeakedTensors(() => {
      exportOnnx(model);
    });
    model.dispose();
  });
});

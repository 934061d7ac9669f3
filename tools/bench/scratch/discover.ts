import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import '../../../packages/backend-wasm/src/index.js';
await tf.setBackend('wasm');
const missing = new Set<string>();
async function tryTrain(name: string, build: () => tfl.LayersModel, x: () => tf.Tensor, y: () => tf.Tensor, loss: string, opt: string) {
  for (let attempt = 0; attempt < 1; attempt++) {
    try {
      const m = build();
      m.compile({ optimizer: opt, loss });
      await m.trainOnBatch(x(), y());
      console.log('OK', name, opt);
    } catch (e) {
      const msg = (e as Error).message; const k = /Kernel '(\w+)'/.exec(msg)?.[1];
      console.log('FAIL', name, opt, msg.slice(0, 150)); if (k) missing.add(k);
    }
  }
}
const seq = (layers: tfl.layers.Layer[]) => { const m = tfl.sequential(); for (const l of layers) m.add(l); return m; };
for (const opt of ['adam', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adamax']) {
  await tryTrain('mlp', () => seq([tfl.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }), tfl.layers.dropout({ rate: 0.5 }), tfl.layers.batchNormalization(), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([8, 4]), () => tf.oneHot(tf.tensor1d([0,1,2,0,1,2,0,1],'int32'),3), 'categoricalCrossentropy', opt);
}
await tryTrain('mlp-bin', () => seq([tfl.layers.dense({ units: 8, activation: 'elu', inputShape: [4] }), tfl.layers.dense({ units: 1, activation: 'sigmoid' })]), () => tf.randomNormal([8, 4]), () => tf.ones([8,1]), 'binaryCrossentropy', 'adam');
await tryTrain('mlp-reg', () => seq([tfl.layers.dense({ units: 8, activation: 'tanh', inputShape: [4] }), tfl.layers.leakyReLU(), tfl.layers.dense({ units: 2 })]), () => tf.randomNormal([8, 4]), () => tf.ones([8,2]), 'meanSquaredError', 'adam');
await tryTrain('mlp-sparse', () => seq([tfl.layers.dense({ units: 8, activation: 'selu', inputShape: [4] }), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([8, 4]), () => tf.tensor1d([0,1,2,0,1,2,0,1]), 'sparseCategoricalCrossentropy', 'adam');
await tryTrain('conv2d', () => seq([tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }), tfl.layers.maxPooling2d({ poolSize: 2 }), tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', strides: 2 }), tfl.layers.batchNormalization(), tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }), tfl.layers.flatten(), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([4, 8, 8, 1]), () => tf.oneHot(tf.tensor1d([0,1,2,0],'int32'),3), 'categoricalCrossentropy', 'adam');
await tryTrain('conv2d-dil', () => seq([tfl.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, inputShape: [8, 8, 2] }), tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([4, 8, 8, 2]), () => tf.oneHot(tf.tensor1d([0,1,2,0],'int32'),3), 'categoricalCrossentropy', 'adam');
await tryTrain('sepconv', () => seq([tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, inputShape: [8, 8, 2] }), tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), tfl.layers.globalMaxPooling2d({}), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([4, 8, 8, 2]), () => tf.oneHot(tf.tensor1d([0,1,2,0],'int32'),3), 'categoricalCrossentropy', 'adam');
await tryTrain('conv1d', () => seq([tfl.layers.conv1d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [16, 2] }), tfl.layers.maxPooling1d({ poolSize: 2 }), tfl.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', dilationRate: 2 }), tfl.layers.averagePooling1d({ poolSize: 2 }), tfl.layers.globalAveragePooling1d(), tfl.layers.dense({ units: 3, activation: 'softmax' })]), () => tf.randomNormal([4, 16, 2]), () => tf.oneHot(tf.tensor1d([0,1,2,0],'int32'),3), 'categoricalCrossentropy', 'adam');
for (const rnn of ['simpleRNN', 'lstm', 'gru'] as const) {
  await tryTrain(rnn, () => seq([tfl.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 5 }), (tfl.layers[rnn] as any)({ units: 4, returnSequences: true }), (tfl.layers[rnn] as any)({ units: 4 }), tfl.layers.dense({ units: 2, activation: 'softmax' })]), () => tf.tensor2d([[1,2,3,4,5],[6,7,8,9,0]]), () => tf.oneHot(tf.tensor1d([0,1],'int32'),2), 'categoricalCrossentropy', 'adam');
}
await tryTrain('bidi', () => seq([tfl.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 5 }), tfl.layers.bidirectional({ layer: tfl.layers.lstm({ units: 4 }) as any }), tfl.layers.dense({ units: 2, activation: 'softmax' })]), () => tf.tensor2d([[1,2,3,4,5],[6,7,8,9,0]]), () => tf.oneHot(tf.tensor1d([0,1],'int32'),2), 'categoricalCrossentropy', 'adam');
await tryTrain('ln', () => seq([tfl.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 5 }), tfl.layers.layerNormalization(), tfl.layers.globalAveragePooling1d(), tfl.layers.dense({ units: 2, activation: 'softmax' })]), () => tf.tensor2d([[1,2,3,4,5],[6,7,8,9,0]]), () => tf.oneHot(tf.tensor1d([0,1],'int32'),2), 'categoricalCrossentropy', 'adam');
// transformer pieces via op-level grads
const tr = (name: string, f: (v: tf.Variable) => tf.Scalar, v: tf.Variable) => { try { const g = tf.variableGrads(() => f(v), [v]); tf.dispose(g.grads); g.value.dispose(); console.log('OK', name); } catch (e) { const msg = (e as Error).message; const k = /Kernel '(\w+)'/.exec(msg)?.[1]; console.log('FAIL', name, msg.slice(0, 150)); if (k) missing.add(k); } };
const W = tf.variable(tf.randomNormal([20, 8]));
const ids = tf.tensor2d([[1,2,3],[4,5,6]], undefined, 'int32');
tr('gather', (w) => tf.gather(w, ids).square().sum(), W);
tr('attention', (w) => { const e = tf.gather(w, ids); const q = e.reshape([2,3,2,4]).transpose([0,2,1,3]); const s = tf.matMul(q, q, false, true).div(2); const p = tf.softmax(s); return tf.matMul(p, q).transpose([0,2,1,3]).reshape([2,3,8]).mean(); }, W);
tr('einsum', (w) => tf.einsum('ij,kj->ik', w, w).sum(), W);
tr('layernorm', (w) => { const m = tf.moments(w, -1, true); return w.sub(m.mean).div(m.variance.add(1e-5).sqrt()).sum(); }, W);
tr('gelu-ish', (w) => tf.erf(w).mul(tf.sigmoid(w)).sum(), W);
tr('logsoftmax', (w) => tf.logSoftmax(w).sum(), W);
tr('misc', (w) => tf.maximum(w, 0.1).add(tf.minimum(w, 0.2)).add(tf.clipByValue(w, -1, 1)).add(tf.abs(w)).add(tf.pow(tf.abs(w).add(1), 1.5)).sum(), W);
tr('cumsum', (w) => tf.cumsum(w, 1).sum(), W);
tr('pad-slice', (w) => tf.pad(w, [[1,1],[2,2]]).slice([0,0],[5,5]).sum(), W);
tr('concat-split', (w) => tf.concat(tf.split(w, 2, 1).reverse(), 1).mul(tf.range(0, 8)).sum(), W);
tr('prod-max', (w) => tf.max(w, 1).sum().add(tf.min(w).add(tf.prod(w.slice([0,0],[2,2])))), W);
tr('tile', (w) => tf.tile(w, [2, 1]).sum(), W);
tr('atan2-sqrt', (w) => tf.sqrt(tf.abs(w).add(1)).add(tf.atan2(w, tf.onesLike(w))).add(tf.softplus(w)).add(tf.relu6(w)).sum(), W);
tr('unsortedseg', (w) => tf.unsortedSegmentSum(w, tf.tensor1d([0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1],'int32'), 2).sum(), W);
tr('stridedslice', (w) => tf.stridedSlice(w, [0,0],[20,8],[2,2]).sum(), W);
tr('resize', (w) => tf.image.resizeBilinear(w.reshape([1,20,8,1]) as tf.Tensor4D, [10,4]).sum(), W);
tr('mirrorpad', (w) => tf.mirrorPad(w, [[1,1],[1,1]], 'reflect').sum(), W);
console.log('MISSING', [...missing].join(' '));

import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-core's Node bundle (dist/tf-core.node.js) leaves out the chained tensor methods (`x.flatten()`,
 * `x.add(y)`), which the union package `@tensorflow/tfjs` normally installs; tfjs-layers calls several
 * of them (its RNN cells use `rMat.flatten()`), so LSTM/GRU/SimpleRNN cannot train without them.
 * Its ESM files cannot be imported in Node (extensionless imports), so we install equivalents here.
 */
const UNARY_OPS = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
  'avgPool', 'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d',
  'conv2dTranspose', 'cos', 'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'div',
  'divNoNan', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor',
  'floorDiv', 'gather', 'greater', 'greaterEqual', 'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu',
  'less', 'lessEqual', 'localResponseNormalization', 'log', 'log1p', 'logSigmoid', 'logSoftmax', 'logSumExp',
  'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool', 'maximum', 'mean', 'min',
  'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow',
  'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu',
  'separableConv2d', 'sigmoid', 'sign', 'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split',
  'sqrt', 'square', 'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile',
  'topk', 'transpose', 'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike',
] as const;

type AnyFn = (...args: unknown[]) => unknown;
type Proto = Record<string, unknown> & { throwIfDisposed(): void; size: number; shape: number[] };

/** Installs the chained tensor methods that are missing (never replaces one that exists). Idempotent. */
export function installChainedOps(): void {
  const proto = tf.Tensor.prototype as unknown as Proto;
  const ops = tf as unknown as Record<string, AnyFn>;
  const define = (name: string, fn: (this: Proto, ...args: unknown[]) => unknown) => {
    if (typeof proto[name] !== 'function') {
      Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
    }
  };
  for (const name of UNARY_OPS) {
    const op = ops[name];
    if (typeof op !== 'function') continue;
    define(name, function (...args) {
      this.throwIfDisposed();
      return op(this, ...args);
    });
  }
  const reshape = (t: Proto, shape: number[]) => tf.reshape(t as unknown as tf.Tensor, shape);
  define('flatten', function () { return reshape(this, [this.size]); });
  define('as1D', function () { return reshape(this, [this.size]); });
  define('asScalar', function () { return reshape(this, []); });
  define('as2D', function (...d) { return reshape(this, d as number[]); });
  define('as3D', function (...d) { return reshape(this, d as number[]); });
  define('as4D', function (...d) { return reshape(this, d as number[]); });
  define('as5D', function (...d) { return reshape(this, d as number[]); });
  define('reshapeAs', function (x) { return reshape(this, (x as tf.Tensor).shape); });
  define('asType', function (dtype) { return tf.cast(this as unknown as tf.Tensor, dtype as tf.DataType); });
  define('toBool', function () { return tf.cast(this as unknown as tf.Tensor, 'bool'); });
  define('toFloat', function () { return tf.cast(this as unknown as tf.Tensor, 'float32'); });
  define('toInt', function () { return tf.cast(this as unknown as tf.Tensor, 'int32'); });
  const self = (t: Proto) => t as unknown as tf.Tensor;
  const list = (t: Proto, x: unknown) => (x instanceof tf.Tensor ? [self(t), x] : [self(t), ...(x as tf.Tensor[])]);
  define('concat', function (x, axis) { return tf.concat(list(this, x), axis as number | undefined); });
  define('stack', function (x, axis) { return tf.stack(list(this, x), axis as number | undefined); });
  define('where', function (cond, x) { return tf.where(cond as tf.Tensor, self(this), x as tf.Tensor); });
}

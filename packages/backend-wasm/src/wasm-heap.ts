import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm our kernels use (its class is not typed for this). */
export interface WasmBackend extends tf.KernelBackend {
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The attributes of tfjs's conv2d kernels (Conv2D, FusedConv2D, Conv2DBackpropInput/Filter). */
export type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
};

/** The conv2d info of an NHWC convolution from its kernel attributes (NCHW is refused). */
export function convInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode, dilations } = attrs as unknown as ConvAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (format !== 'channelsLast') throw new Error(`our wasm conv2d kernels support dataFormat NHWC only, received ${dataFormat}`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: tf.NamedAttrMap };

/**
 * A float32 view of a tensor's bytes on the wasm heap. Take views only after every output is
 * allocated: an allocation can grow the heap, which detaches views taken before it.
 */
export function f32(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, received ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** A zero-filled float32 output on the wasm heap (makeOutput leaves the memory uninitialised). */
export function zerosOutput(backend: WasmBackend, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

/** Runs another wasm kernel directly (no engine, no tape), like the backend's own kernels do. */
export function runWasmKernel(
  backend: WasmBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`kernel ${name} is not registered for backend wasm`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** Frees intermediate results made inside a kernel. */
export function disposeInfos(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/** The bias and ReLU a fused kernel applies after its product (FusedConv2D, _FusedMatMul). */
export type Epilogue = { bias?: tf.TensorInfo; relu?: boolean };

/**
 * The epilogue a fused kernel's inputs and attributes ask for, when our kernels can apply it (no bias or a
 * float32 one per output channel of `width`; no activation or ReLU); undefined otherwise.
 */
export function fusedEpilogue(inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, width: number): Epilogue | undefined {
  const bias = inputs.bias as tf.TensorInfo | undefined | null;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const biasFits = !bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === width);
  if (!biasFits || inputs.preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return undefined;
  return { ...(bias ? { bias } : {}), relu: activation === 'relu' };
}

export { exportOnnx, ONNX_OPSET, ONNX_IR_VERSION } from './export.js';
export type { OnnxExport, OnnxExportOptions, OnnxIO } from './export.js';
export { OnnxModel, loadOnnxRuntime, onnxRuntimeAvailable, ONNXRUNTIME_INSTALL_HINT } from './runtime.js';
export type { OnnxRunOptions } from './runtime.js';
export { CONVERTERS } from './layers.js';

import type * as tfl from '@tensorflow/tfjs-layers';
import { TfpipeError } from '@tfpipe/core';
import { FLOAT, GraphBuilder, onnx, type Value } from './graph.js';
import { CONVERTERS, type LayerContext } from './layers.js';

/** ONNX opset written into every file: 13 runs on onnxruntime (node, web), TensorRT, OpenVINO and most others. */
export const ONNX_OPSET = 13;
/** ONNX IR version matching opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;

export interface OnnxExportOptions {
  /** Extra metadata_props written into the file (class labels, preprocessing, the run id…). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  /** docString of the model. */
  description?: string;
}

export interface OnnxIO {
  name: string;
  /** -1 for the batch dimension (named "batch" in the file). */
  shape: number[];
}

export interface OnnxExport {
  /** The serialized ModelProto (write it to model.onnx). */
  bytes: Uint8Array;
  inputs: OnnxIO[];
  outputs: OnnxIO[];
  opset: number;
  /** Graph nodes written. */
  nodes: number;
}

// What the exporter reads of tfjs-layers' graph: nodes link layers to the layers that feed them.
interface LayerNode {
  inboundLayers: tfl.layers.Layer[];
  nodeIndices: number[];
  tensorIndices: number[];
}
type GraphLayer = tfl.layers.Layer & { inboundNodes: LayerNode[] };

function shapeOf(s: tfl.Shape | tfl.Shape[]): number[] {
  const one = (Array.isArray(s[0]) || s[0] === undefined ? s[0] ?? s : s) as (number | null)[];
  return one.map((d) => (d == null ? -1 : d));
}

/** The model's own nodes (tfjs keeps `containerNodes` keys as `<layer>_ib-<i>`), per layer. */
function ownNodes(model: tfl.LayersModel): Map<string, number[]> {
  const keys = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  const out = new Map<string, number[]>();
  for (const layer of model.layers as GraphLayer[]) {
    const idx = layer.inboundNodes.map((_, i) => i).filter((i) => !keys || keys.has(`${layer.name}_ib-${i}`));
    out.set(layer.name, idx.length ? idx : [0]);
  }
  return out;
}

/**
 * Converts a TF.js Layers model (as tfpipe builds them: Sequential or functional, one or more inputs and
 * outputs, our custom layers) into an ONNX model, opset 13. Inputs are float32 (token ids too: they are
 * cast to int64 inside), batch dimension dynamic. A layer it cannot convert is an E_MODEL error naming the
 * layer and its class.
 */
export function exportOnnx(model: tfl.LayersModel, options: OnnxExportOptions = {}): OnnxExport {
  // A Sequential model keeps its graph in an inner functional model, made on its first build.
  const seq = model as unknown as { model?: tfl.LayersModel; build?: () => void };
  if (model.getClassName() === 'Sequential' && !seq.model) seq.build?.();
  const net = model.getClassName() === 'Sequential' && seq.model ? seq.model : model;
  const g = new GraphBuilder();
  const values = new Map<string, Value>(); // `${layer}:${node}:${tensor}` → value
  const inputs: OnnxIO[] = [];
  const inputLayers = new Set(net.inputLayers.map((l) => l.name));
  net.inputLayers.forEach((layer, i) => {
    const shape = shapeOf(net.inputs[i]!.shape as tfl.Shape);
    const name = net.inputNames?.[i] ?? layer.name;
    g.input(name, shape, FLOAT);
    inputs.push({ name, shape });
    values.set(`${layer.name}:0:0`, { name, shape });
  });
  const nodesOf = ownNodes(net);
  for (const layer of net.layers as GraphLayer[]) {
    if (inputLayers.has(layer.name)) continue;
    const className = layer.getClassName();
    const convert = CONVERTERS[className];
    for (const n of nodesOf.get(layer.name) ?? [0]) {
      const node = layer.inboundNodes[n];
      if (!node) continue;
      const ins = node.inboundLayers.map((src, k) => {
        const v = values.get(`${src.name}:${node.nodeIndices[k]}:${node.tensorIndices[k]}`);
        if (!v) throw new TfpipeError('E_MODEL', `ONNX export: layer "${layer.name}" reads "${src.name}", which was not converted before it`);
        return v;
      });
      if (!convert) {
        throw new TfpipeError('E_MODEL', `ONNX export: layer "${layer.name}" of class ${className} is not supported`, {
          hint: `Supported classes: ${Object.keys(CONVERTERS).sort().join(', ')}.`,
        });
      }
      const weightsOf = () =>
        layer.weights.map((w) => {
          const t = w.read();
          // tfjs uniquifies variable names across models (kernel_1, …); the original name is the layer's own.
          const name = (w as unknown as { originalName?: string }).originalName ?? w.name;
          return { name, data: t.dataSync() as Float32Array, shape: t.shape };
        });
      let cache: ReturnType<typeof weightsOf> | undefined;
      const ctx: LayerContext = {
        g,
        layer,
        className,
        config: layer.getConfig() as LayerContext['config'],
        weights: () => (cache ??= weightsOf()),
        weight: (short) => ctx.weights().find((w) => w.name.split('/').pop() === short),
      };
      const outs = convert(ctx, ins);
      outs.forEach((v, t) => {
        values.set(`${layer.name}:${n}:${t}`, v);
      });
    }
  }
  const outputs: OnnxIO[] = [];
  net.outputs.forEach((sym, i) => {
    const s = sym as unknown as { sourceLayer: tfl.layers.Layer; nodeIndex: number; tensorIndex: number };
    const v = values.get(`${s.sourceLayer.name}:${s.nodeIndex}:${s.tensorIndex}`);
    if (!v) throw new TfpipeError('E_MODEL', `ONNX export: output ${i} (${s.sourceLayer.name}) was not converted`);
    const name = net.outputNames?.[i] ?? s.sourceLayer.name;
    g.op1('Identity', [v.name], name);
    const shape = shapeOf(sym.shape as tfl.Shape);
    const out = g.nodes[g.nodes.length - 1]!.output;
    out[0] = name;
    g.output(name, shape);
    outputs.push({ name, shape });
  });
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'tfpipe',
    producerVersion: options.producerVersion ?? '0',
    docString: options.description ?? `${model.name} exported from TF.js Layers by @tfpipe/onnx`,
    graph: { name: model.name, node: g.nodes, initializer: g.initializers, input: g.inputs, output: g.outputs },
    metadataProps: Object.entries({ ...options.metadata, 'tfpipe.inputs': JSON.stringify(inputs), 'tfpipe.outputs': JSON.stringify(outputs) }).map(([key, value]) => ({ key, value })),
  });
  return { bytes: onnx.ModelProto.encode(proto).finish(), inputs, outputs, opset: ONNX_OPSET, nodes: g.nodes.length };
}

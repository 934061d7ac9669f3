import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export { onnx };

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const INT32 = onnx.TensorProto.DataType.INT32;
export const BOOL = onnx.TensorProto.DataType.BOOL;

type AttrValue = number | string | number[] | { ints: number[] } | { floats: number[] } | { strings: string[] } | { float: number };

/** A value in the graph, with what the exporter knows of it: its shape (batch dimension -1) and layout. */
export interface Value {
  name: string;
  /** Per-sample shape is `shape.slice(1)`; -1 where unknown (the batch dimension). */
  shape: number[];
  /**
   * For values from a masking embedding (maskZero / token ids where 0 pads): the name of the int64 token-id
   * tensor [batch, steps] that says which steps are padding.
   */
  maskIds?: string;
}

/**
 * Builds an ONNX graph: nodes, initializers (weights, constants), inputs and outputs, with unique names.
 * Written by our exporter, serialized by onnx-proto (protobufjs over the official onnx.proto).
 */
export class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private used = new Set<string>();
  private constCache = new Map<string, string>();

  /** A fresh name based on `base`. */
  name(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let n = clean;
    for (let i = 1; this.used.has(n); i++) n = `${clean}_${i}`;
    this.used.add(n);
    return n;
  }

  /** Adds a node; returns its output names (fresh, from `outBase`). */
  op(opType: string, inputs: string[], outBase: string, attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.name(outputs === 1 ? outBase : `${outBase}_${i}`));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outs,
        name: this.name(`${outBase}/${opType}`),
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /** One-output node. */
  op1(opType: string, inputs: string[], outBase: string, attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, outBase, attrs, 1)[0]!;
  }

  /** A float32 initializer (weights). */
  float(base: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.name(base);
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) }),
    );
    return name;
  }

  /** An int64 constant (shapes, axes, indices), shared between uses. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join(',')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.name(`const_i64_${values.slice(0, 4).join('_')}`);
    const buf = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: INT64, rawData: new Uint8Array(buf.buffer) }),
    );
    this.constCache.set(key, name);
    return name;
  }

  /** A float scalar constant, shared between uses. */
  scalar(v: number): string {
    const key = `f32:${v}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.float(`const_f32`, [v], []);
    this.constCache.set(key, name);
    return name;
  }

  input(name: string, shape: number[], elemType = FLOAT): void {
    this.used.add(name);
    this.inputs.push(valueInfo(name, shape, elemType));
  }

  output(name: string, shape: number[], elemType = FLOAT): void {
    this.outputs.push(valueInfo(name, shape, elemType));
  }
}

function valueInfo(name: string, shape: number[], elemType: number) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d, i) => (d < 0 ? { dimParam: i === 0 ? 'batch' : `d${i}` } : { dimValue: d })) },
      },
    },
  });
}

function attribute(name: string, v: AttrValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: A.INT, i: v });
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if ('ints' in v) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v.ints });
  if ('floats' in v) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
  if ('float' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: A.STRINGS, strings: v.strings.map((s) => new TextEncoder().encode(s)) });
}

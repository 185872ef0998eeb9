/**
 * Builds ONNX MLP models from Node with protobufjs and a hand-written subset of onnx.proto
 * (field numbers as in onnx/onnx `onnx.proto`), so benches and tests need no Python.
 * The MLP is Gemm+Relu layers ending in a Gemm; weights are deterministic pseudo-random.
 */
import protobuf from "protobufjs";

const ONNX_FLOAT = 1;

const schema = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        OperatorSetIdProto: {
          fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            type: { type: "int32", id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            dataType: { type: "int32", id: 2 },
            name: { type: "string", id: 8 },
            rawData: { type: "bytes", id: 9 },
          },
        },
        Dimension: { fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
        TensorTypeProto: {
          fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } },
        },
        TypeProto: { fields: { tensorType: { type: "TensorTypeProto", id: 1 } } },
        ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            producerName: { type: "string", id: 2 },
            graph: { type: "GraphProto", id: 7 },
            opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
          },
        },
      },
    },
  },
});
const ModelProto = schema.lookupType("onnx.ModelProto");

export interface MlpSpec {
  /** Layer widths, input first, output last: [32, 4096, 4096, 1]. */
  widths: number[];
  inputName?: string;
  outputName?: string;
  /** Seeds the weights; two models with different seeds give different outputs. */
  seed?: number;
  /** Adds a constant to the output bias (to tell model versions apart in tests). */
  outputOffset?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 0xffffffff) * 2 - 1;
  };
}

function tensor(name: string, dims: number[], values: Float32Array) {
  return {
    name,
    dims,
    dataType: ONNX_FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

function valueInfo(name: string, dims: Array<number | string>, elemType = ONNX_FLOAT) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** The MLP's layers: weights [k, n] row-major and biases [n], generated deterministically from the seed. */
function layers(
  spec: MlpSpec,
): Array<{ k: number; n: number; w: Float32Array; b: Float32Array; last: boolean }> {
  const { widths } = spec;
  const next = rng(spec.seed ?? 42);
  const out = [];
  for (let l = 0; l < widths.length - 1; l++) {
    const [k, n] = [widths[l], widths[l + 1]];
    const last = l === widths.length - 2;
    // He-style scaling keeps activations in range through deep, wide layers.
    const scale = Math.sqrt(2 / k);
    const w = new Float32Array(k * n);
    for (let i = 0; i < w.length; i++) w[i] = next() * scale;
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) b[i] = next() * 0.1 + (last ? (spec.outputOffset ?? 0) : 0);
    out.push({ k, n, w, b, last });
  }
  return out;
}

/** Encodes an MLP as ONNX bytes: input [batch, widths[0]] FP32 -> output [batch, widths.at(-1)] FP32. */
export function buildMlp(spec: MlpSpec): Uint8Array {
  const { widths } = spec;
  const input = spec.inputName ?? "input";
  const output = spec.outputName ?? "output";
  const nodes: unknown[] = [];
  const initializers: unknown[] = [];
  let prev = input;
  for (const [l, { k, n, w, b, last }] of layers(spec).entries()) {
    initializers.push(tensor(`W${l}`, [k, n], w), tensor(`B${l}`, [n], b));
    const gemmOut = last ? output : `h${l}`;
    nodes.push({ input: [prev, `W${l}`, `B${l}`], output: [gemmOut], name: `gemm${l}`, opType: "Gemm" });
    if (!last) {
      nodes.push({ input: [gemmOut], output: [`r${l}`], name: `relu${l}`, opType: "Relu" });
      prev = `r${l}`;
    }
  }
  const model = ModelProto.create({
    irVersion: 8,
    producerName: "keel-bench",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "mlp",
      node: nodes,
      initializer: initializers,
      input: [valueInfo(input, ["batch", widths[0]])],
      output: [valueInfo(output, ["batch", widths[widths.length - 1]])],
    },
  });
  return ModelProto.encode(model).finish();
}

/** The reference forward pass in plain JS (for checking served outputs in tests). */
export function mlpReference(spec: MlpSpec, row: number[]): number[] {
  let act = Float32Array.from(row);
  for (const { k, n, w, b, last } of layers(spec)) {
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = b[j];
      for (let i = 0; i < k; i++) s += act[i] * w[i * n + j];
      out[j] = last ? s : Math.max(0, s);
    }
    act = out;
  }
  return Array.from(act);
}

/** ONNX element types (onnx.proto TensorProto.DataType) the identity model can carry. */
export const ONNX_TYPES = { FP32: 1, INT64: 7, BYTES: 8, BOOL: 9 } as const;

/**
 * Encodes a model of Identity nodes: each input `<name>` [batch, width] of its type comes
 * back unchanged as output `<name>_out` (for protocol tests of every datatype).
 */
export function buildIdentity(
  tensors: Array<{ name: string; type: keyof typeof ONNX_TYPES; width: number }>,
): Uint8Array {
  const model = ModelProto.create({
    irVersion: 8,
    producerName: "keel-test",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "identity",
      node: tensors.map((t) => ({
        input: [t.name],
        output: [`${t.name}_out`],
        name: `id_${t.name}`,
        opType: "Identity",
      })),
      input: tensors.map((t) => valueInfo(t.name, ["batch", t.width], ONNX_TYPES[t.type])),
      output: tensors.map((t) => valueInfo(`${t.name}_out`, ["batch", t.width], ONNX_TYPES[t.type])),
    },
  });
  return ModelProto.encode(model).finish();
}

import { parseModelConfig, parsePbtxt, selectVersions } from "@keel/serving";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const TRITON_EXAMPLE = `
# A config as Triton's docs write them.
name: "fraud"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [
  {
    name: "input"
    data_type: TYPE_FP32
    dims: [ 32 ]
  }
]
output [
  {
    name: "output"
    data_type: TYPE_FP32
    dims: [ 1 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 16, 32 ]
  max_queue_delay_microseconds: 500
  default_queue_policy { max_queue_size: 100 }
}
instance_group [ { count: 2, kind: KIND_GPU } ]
version_policy: { specific: { versions: [1, 3] } }
`;

describe("config.pbtxt", () => {
  it("reads the supported subset of Triton's model config", () => {
    expect(parseModelConfig(TRITON_EXAMPLE, "fraud")).toEqual({
      name: "fraud",
      platform: "onnxruntime_onnx",
      maxBatchSize: 64,
      inputs: [{ name: "input", datatype: "FP32", shape: [32] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [1] }],
      dynamicBatching: { preferredBatchSizes: [16, 32], maxQueueDelayUs: 500, maxQueueSize: 100 },
      instanceCount: 2,
      provider: "webgpu",
      versionPolicy: { specific: [1, 3] },
      defaultModelFilename: "model.onnx",
    });
  });

  it("accepts backend instead of platform and fills defaults", () => {
    const c = parseModelConfig('backend: "onnxruntime"', "m");
    expect(c).toMatchObject({ name: "m", maxBatchSize: 0, instanceCount: 1, versionPolicy: { latest: 1 } });
    expect(c.dynamicBatching).toBeUndefined();
  });

  it.each([
    [
      'platform: "onnxruntime_onnx"\nsequence_batching { }',
      /field 'sequence_batching' is not supported by Keel's model server/,
    ],
    ['platform: "tensorrt_plan"', /platform 'tensorrt_plan' is not supported/],
    ['name: "other"\nplatform: "onnxruntime_onnx"', /must equal the model directory name 'm'/],
    [
      'platform: "onnxruntime_onnx"\ninput [ { name: "x" data_type: TYPE_FP32 dims: [4] reshape: { shape: [2,2] } } ]',
      /input\[0\]: field 'reshape' is not supported/,
    ],
    ['platform: "onnxruntime_onnx"\ndynamic_batching { }', /dynamic_batching needs max_batch_size > 0/],
    [
      'platform: "onnxruntime_onnx"\nmax_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 8 ] }',
      /preferred_batch_size 8 must be within 1..max_batch_size \(4\)/,
    ],
    [
      'platform: "onnxruntime_onnx"\ninput [ { name: "x" data_type: TYPE_FP16 dims: [4] } ]',
      /data_type TYPE_FP16 is not supported/,
    ],
    [
      'platform: "onnxruntime_onnx"\nmax_batch_size: 4 {',
      /config.pbtxt:2: expected a field name but found '\{'/,
    ],
    ['platform: "onnxruntime_onnx\nmax_batch_size: 4', /unterminated string/],
    ["max_batch_size: 2", /'platform: "onnxruntime_onnx"' or 'backend: "onnxruntime"' is required/],
  ])("rejects %s", (text, message) => {
    expect(() => parseModelConfig(text, "m")).toThrow(message);
  });

  it("parses any well-formed text-format tree back to the same values", () => {
    const ident = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    const scalar = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.stringMatching(/^[ -~]{0,12}$/),
      fc.boolean(),
    );
    const tree = fc.letrec((tie) => ({
      msg: fc.dictionary(
        ident,
        fc.array(fc.oneof({ depthSize: "small" }, scalar, tie("msg")), { minLength: 1, maxLength: 3 }),
        { maxKeys: 4 },
      ),
    })).msg as fc.Arbitrary<Record<string, unknown[]>>;
    const write = (m: Record<string, unknown[]>): string =>
      Object.entries(m)
        .flatMap(([k, vs]) =>
          vs.map((v) =>
            typeof v === "object" && v !== null
              ? `${k} { ${write(v as Record<string, unknown[]>)} }`
              : `${k}: ${typeof v === "string" ? JSON.stringify(v) : String(v)}`,
          ),
        )
        .join("\n");
    const norm = (m: Record<string, unknown[]>): unknown =>
      Object.fromEntries(
        Object.entries(m).map(([k, vs]) => [
          k,
          vs.map((v) => (typeof v === "object" && v !== null ? norm(v as Record<string, unknown[]>) : v)),
        ]),
      );
    fc.assert(
      fc.property(tree, (t) => {
        expect(parsePbtxt(write(t))).toEqual(norm(t));
      }),
    );
  });

  it("selects versions by policy", () => {
    expect(selectVersions({ latest: 2 }, [3, 1, 7])).toEqual([3, 7]);
    expect(selectVersions({ all: true }, [3, 1])).toEqual([1, 3]);
    expect(selectVersions({ specific: [1, 9] }, [1, 2])).toEqual([1]);
  });
});

import { badInput } from "../errors";
import { fromTritonType } from "../protocol/datatypes";
import type { TensorMetadata } from "../protocol/protocol";
import { type PbMessage, type PbValue, parsePbtxt } from "./pbtxt";

/** Which ONNX Runtime execution provider runs a model. */
export type ExecutionProvider = "cpu" | "webgpu";

export type VersionPolicy = { latest: number } | { all: true } | { specific: number[] };

/**
 * The subset of Triton's ModelConfig (model_config.proto) Keel's server implements. Dims
 * exclude the batch dimension when maxBatchSize > 0, as in Triton.
 */
export interface ModelConfig {
  name: string;
  platform: "onnxruntime_onnx";
  maxBatchSize: number;
  /** Absent: taken from the ONNX model itself when it loads. */
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  dynamicBatching?: { preferredBatchSizes: number[]; maxQueueDelayUs: number; maxQueueSize?: number };
  instanceCount: number;
  /** KIND_GPU selects the webgpu provider, KIND_CPU the cpu one; absent: the server default. */
  provider?: ExecutionProvider;
  versionPolicy: VersionPolicy;
  defaultModelFilename: string;
}

const SUPPORTED: Record<string, string[]> = {
  ModelConfig: [
    "name",
    "platform",
    "backend",
    "max_batch_size",
    "input",
    "output",
    "dynamic_batching",
    "instance_group",
    "version_policy",
    "default_model_filename",
  ],
  ModelInput: ["name", "data_type", "dims"],
  ModelOutput: ["name", "data_type", "dims"],
  ModelDynamicBatching: [
    "preferred_batch_size",
    "max_queue_delay_microseconds",
    "default_queue_policy",
    "preserve_ordering",
  ],
  ModelQueuePolicy: ["max_queue_size"],
  ModelInstanceGroup: ["name", "count", "kind"],
  ModelVersionPolicy: ["latest", "all", "specific"],
  Latest: ["num_versions"],
  All: [],
  Specific: ["versions"],
};

class Reader {
  constructor(
    readonly msg: PbMessage,
    readonly type: string,
    readonly where: string,
  ) {
    const allowed = SUPPORTED[type];
    for (const f of Object.keys(msg)) {
      if (!allowed.includes(f)) {
        throw badInput(
          `${where}: field '${f}' is not supported by Keel's model server (supported in ${type}: ${allowed.join(", ") || "none"})`,
        );
      }
    }
  }
  private one(f: string): PbValue | undefined {
    const v = this.msg[f];
    if (!v || v.length === 0) return undefined;
    if (v.length > 1) throw badInput(`${this.where}: field '${f}' is given ${v.length} times`);
    return v[0];
  }
  str(f: string): string | undefined {
    const v = this.one(f);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw badInput(`${this.where}: field '${f}' must be a string`);
    return v;
  }
  enumName(f: string): string | undefined {
    const v = this.one(f);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || !("enum" in v) || typeof v.enum !== "string")
      throw badInput(`${this.where}: field '${f}' must be an enum name`);
    return v.enum;
  }
  int(f: string): number | undefined {
    const v = this.one(f);
    return v === undefined ? undefined : this.asInt(v, f);
  }
  ints(f: string): number[] {
    return (this.msg[f] ?? []).map((v) => this.asInt(v, f));
  }
  private asInt(v: PbValue, f: string): number {
    if (typeof v !== "number" || !Number.isInteger(v))
      throw badInput(`${this.where}: field '${f}' must be an integer`);
    return v;
  }
  messages(f: string, type: string): Reader[] {
    return (this.msg[f] ?? []).map((v, i) => {
      if (typeof v !== "object" || "enum" in v)
        throw badInput(`${this.where}: field '${f}' must be a message`);
      return new Reader(v as PbMessage, type, `${this.where} ${f}[${i}]`);
    });
  }
  message(f: string, type: string): Reader | undefined {
    const all = this.messages(f, type);
    if (all.length > 1) throw badInput(`${this.where}: field '${f}' is given ${all.length} times`);
    return all[0];
  }
}

function tensors(r: Reader, field: string, type: string): TensorMetadata[] | undefined {
  const list = r.messages(field, type);
  if (list.length === 0) return undefined;
  return list.map((t) => {
    const name = t.str("name");
    const dt = t.enumName("data_type");
    if (!name) throw badInput(`${t.where}: 'name' is required`);
    if (!dt) throw badInput(`${t.where}: 'data_type' is required`);
    const dims = t.ints("dims");
    if (dims.some((d) => d < -1 || d === 0)) throw badInput(`${t.where}: dims must be positive or -1`);
    return { name, datatype: fromTritonType(dt), shape: dims };
  });
}

/**
 * Parses a config.pbtxt into Keel's ModelConfig, rejecting fields and values Keel does not
 * implement so a repository never silently behaves differently here than on Triton.
 * `dirName` is the model directory's name, which Triton requires `name` to equal.
 */
export function parseModelConfig(
  text: string,
  dirName: string,
  file = `${dirName}/config.pbtxt`,
): ModelConfig {
  const r = new Reader(parsePbtxt(text, file), "ModelConfig", file);
  const name = r.str("name") ?? dirName;
  if (name !== dirName)
    throw badInput(`${file}: name '${name}' must equal the model directory name '${dirName}'`);
  const platform = r.str("platform");
  const backend = r.str("backend");
  if (platform !== undefined && platform !== "onnxruntime_onnx") {
    throw badInput(
      `${file}: platform '${platform}' is not supported (Keel serves platform "onnxruntime_onnx")`,
    );
  }
  if (backend !== undefined && backend !== "onnxruntime") {
    throw badInput(`${file}: backend '${backend}' is not supported (Keel serves backend "onnxruntime")`);
  }
  if (platform === undefined && backend === undefined)
    throw badInput(`${file}: 'platform: "onnxruntime_onnx"' or 'backend: "onnxruntime"' is required`);
  const maxBatchSize = r.int("max_batch_size") ?? 0;
  if (maxBatchSize < 0) throw badInput(`${file}: max_batch_size must be >= 0`);

  let dynamicBatching: ModelConfig["dynamicBatching"];
  const db = r.message("dynamic_batching", "ModelDynamicBatching");
  if (db) {
    if (maxBatchSize === 0) throw badInput(`${file}: dynamic_batching needs max_batch_size > 0`);
    const preferred = db.ints("preferred_batch_size");
    for (const p of preferred) {
      if (p < 1 || p > maxBatchSize)
        throw badInput(
          `${file}: preferred_batch_size ${p} must be within 1..max_batch_size (${maxBatchSize})`,
        );
    }
    const delay = db.int("max_queue_delay_microseconds") ?? 0;
    if (delay < 0) throw badInput(`${file}: max_queue_delay_microseconds must be >= 0`);
    const qp = db.message("default_queue_policy", "ModelQueuePolicy");
    const maxQueueSize = qp?.int("max_queue_size");
    if (maxQueueSize !== undefined && maxQueueSize < 0)
      throw badInput(`${file}: max_queue_size must be >= 0`);
    dynamicBatching = {
      preferredBatchSizes: [...new Set(preferred)].sort((a, b) => a - b),
      maxQueueDelayUs: delay,
      // Triton's 0 means unbounded; Keel keeps the server's bound in that case.
      maxQueueSize: maxQueueSize || undefined,
    };
  }

  const groups = r.messages("instance_group", "ModelInstanceGroup");
  let instanceCount = 0;
  let provider: ExecutionProvider | undefined;
  for (const g of groups) {
    instanceCount += g.int("count") ?? 1;
    const kind = g.enumName("kind");
    if (kind && !["KIND_AUTO", "KIND_CPU", "KIND_GPU"].includes(kind))
      throw badInput(`${g.where}: kind ${kind} is not supported (KIND_AUTO, KIND_CPU, KIND_GPU)`);
    const p: ExecutionProvider | undefined =
      kind === "KIND_GPU" ? "webgpu" : kind === "KIND_CPU" ? "cpu" : undefined;
    if (provider && p && provider !== p)
      throw badInput(`${file}: instance groups of different kinds are not supported`);
    provider = p ?? provider;
  }
  if (groups.length && instanceCount < 1) throw badInput(`${file}: instance_group count must be >= 1`);

  let versionPolicy: VersionPolicy = { latest: 1 };
  const vp = r.message("version_policy", "ModelVersionPolicy");
  if (vp) {
    const kinds = Object.keys(vp.msg);
    if (kinds.length !== 1)
      throw badInput(`${file}: version_policy must have exactly one of latest, all, specific`);
    const latest = vp.message("latest", "Latest");
    const specific = vp.message("specific", "Specific");
    if (latest) {
      const n = latest.int("num_versions") ?? 1;
      if (n < 1) throw badInput(`${file}: version_policy.latest.num_versions must be >= 1`);
      versionPolicy = { latest: n };
    } else if (specific) {
      const versions = specific.ints("versions");
      if (versions.length === 0 || versions.some((v) => v < 1))
        throw badInput(`${file}: version_policy.specific.versions must list positive versions`);
      versionPolicy = { specific: versions };
    } else {
      vp.message("all", "All");
      versionPolicy = { all: true };
    }
  }

  return {
    name,
    platform: "onnxruntime_onnx",
    maxBatchSize,
    inputs: tensors(r, "input", "ModelInput"),
    outputs: tensors(r, "output", "ModelOutput"),
    dynamicBatching,
    instanceCount: instanceCount || 1,
    provider,
    versionPolicy,
    defaultModelFilename: r.str("default_model_filename") ?? "model.onnx",
  };
}

/** The versions a policy selects from those present on disk (ascending). */
export function selectVersions(policy: VersionPolicy, available: number[]): number[] {
  const sorted = [...available].sort((a, b) => a - b);
  if ("all" in policy) return sorted;
  if ("specific" in policy) return sorted.filter((v) => policy.specific.includes(v));
  return sorted.slice(-policy.latest);
}

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { createLogger, type Logger } from "@keel/core";
import { badInput, missing, ServingError } from "../errors";
import { ServingMetrics } from "../metrics/metrics";
import type {
  InferRequest,
  InferResponse,
  ModelMetadata,
  Tensor,
  TensorMetadata,
} from "../protocol/protocol";
import { checkAgainst, decodeTensor, encodeTensor } from "../protocol/tensors";
import { sha256Hex } from "./approved-bytes";
import { BatchScheduler } from "./batch-scheduler";
import { type ExecutionProvider, type ModelConfig, parseModelConfig, selectVersions } from "./model-config";
import { OnnxInstance } from "./onnx-instance";

export interface ModelServerOptions {
  /** A Triton-layout model repository: <repo>/<model>/config.pbtxt, <repo>/<model>/<version>/model.onnx. */
  repository?: string;
  /** Default execution provider when a model's instance_group does not choose one. */
  provider?: ExecutionProvider;
  /** ONNX Runtime intra-op threads per instance; 0 = the runtime's default. */
  intraOpNumThreads?: number;
  /** Queue bound per model version when config.pbtxt sets none. */
  maxQueueSize?: number;
  /** max_batch_size given to models loaded from bytes (registry artifacts) whose first dimension is variable. */
  defaultMaxBatchSize?: number;
  metrics?: ServingMetrics;
  log?: Logger;
}

export type ModelState = "READY" | "LOADING" | "UNLOADING" | "UNAVAILABLE";

export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelState;
  reason?: string;
}

interface LoadedVersion {
  version: string;
  config: Required<Pick<ModelConfig, "inputs" | "outputs">> & ModelConfig;
  instances: OnnxInstance[];
  scheduler: BatchScheduler;
  /** SHA-256 (hex) of the model file this version was loaded from, computed once at load. */
  sha256: string;
}

interface ModelEntry {
  state: ModelState;
  reason?: string;
  versions: Map<string, LoadedVersion>;
}

const byNumber = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

/**
 * Keel's model server: ONNX models from a Triton-layout repository (or from bytes), each
 * version with its instances (worker threads) and a dynamic-batching scheduler, answering
 * the Open Inference Protocol's operations. Loads of one model are serialized; a reload
 * brings the new versions up before the old ones drain, so the model never goes away.
 */
export class ModelServer {
  readonly metrics: ServingMetrics;
  private readonly models = new Map<string, ModelEntry>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly log: Logger;

  constructor(readonly opts: ModelServerOptions = {}) {
    this.metrics = opts.metrics ?? new ServingMetrics();
    this.log = opts.log ?? createLogger();
  }

  /** Loads every model found in the repository; a model that fails stays UNAVAILABLE with its reason. */
  async loadRepository(): Promise<void> {
    for (const entry of await this.repositoryModels()) {
      await this.load(entry).catch((e) =>
        this.log.warn("model failed to load", { model: entry, err: (e as Error).message }),
      );
    }
  }

  /** Triton's repository index: every model in the repository or loaded, with versions and states. */
  async index(opts: { ready?: boolean } = {}): Promise<RepositoryIndexEntry[]> {
    const names = new Set([...(await this.repositoryModels()), ...this.models.keys()]);
    const out: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const m = this.models.get(name);
      if (!m) {
        if (!opts.ready) out.push({ name, state: "UNAVAILABLE", reason: "unloaded" });
        continue;
      }
      if (m.versions.size === 0 || m.state !== "READY") {
        if (!opts.ready) out.push({ name, state: m.state, reason: m.reason });
        continue;
      }
      for (const v of [...m.versions.keys()].sort(byNumber)) out.push({ name, version: v, state: "READY" });
    }
    return out;
  }

  /** Loads (or reloads) a model from the repository, applying its version_policy. */
  load(name: string): Promise<void> {
    return this.serialized(name, async () => {
      const repo = this.opts.repository;
      if (!repo)
        throw badInput("this server has no model repository; models can only be loaded from artifacts");
      if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith("."))
        throw badInput(`invalid model name '${name}'`);
      const dir = join(repo, name);
      const configText = await readFile(join(dir, "config.pbtxt"), "utf8").catch(() => {
        throw missing(`model '${name}' is not in the repository (no ${name}/config.pbtxt)`);
      });
      const entry: ModelEntry = this.models.get(name) ?? { state: "LOADING", versions: new Map() };
      this.models.set(name, entry);
      try {
        const config = parseModelConfig(configText, name);
        const onDisk: number[] = [];
        for (const d of await readdir(dir)) {
          if (
            /^\d+$/.test(d) &&
            (await stat(join(dir, d, config.defaultModelFilename)).catch(() => undefined))?.isFile()
          )
            onDisk.push(Number(d));
        }
        const chosen = selectVersions(config.versionPolicy, onDisk);
        if (chosen.length === 0)
          throw badInput(
            `model '${name}': no version directory with ${config.defaultModelFilename} matches the version_policy`,
          );
        const loaded = await Promise.all(
          chosen.map((v) =>
            this.createVersion(config, String(v), join(dir, String(v), config.defaultModelFilename)),
          ),
        );
        const old = entry.versions;
        entry.versions = new Map(loaded.map((l) => [l.version, l]));
        entry.state = "READY";
        entry.reason = undefined;
        await Promise.all(
          [...old.values()]
            .filter((o) => !entry.versions.has(o.version) || entry.versions.get(o.version) !== o)
            .map((o) => this.closeVersion(o)),
        );
      } catch (e) {
        if (entry.versions.size === 0) {
          entry.state = "UNAVAILABLE";
          entry.reason = (e as Error).message;
        }
        throw e instanceof ServingError
          ? e
          : badInput(`model '${name}' failed to load: ${(e as Error).message}`, e);
      }
    });
  }

  /**
   * Loads one version of a model from ONNX bytes (a registry artifact), next to the model's
   * other versions. max_batch_size and the tensors come from the model itself; dynamic
   * batching is on with no added delay.
   */
  loadBytes(
    name: string,
    version: string,
    bytes: Uint8Array,
    config: Partial<ModelConfig> = {},
  ): Promise<void> {
    return this.serialized(name, async () => {
      const entry: ModelEntry = this.models.get(name) ?? { state: "LOADING", versions: new Map() };
      this.models.set(name, entry);
      const maxBatchSize = config.maxBatchSize ?? this.opts.defaultMaxBatchSize ?? 256;
      const full: ModelConfig = {
        name,
        platform: "onnxruntime_onnx",
        maxBatchSize,
        instanceCount: 1,
        versionPolicy: { all: true },
        defaultModelFilename: "model.onnx",
        dynamicBatching: maxBatchSize > 0 ? { preferredBatchSizes: [], maxQueueDelayUs: 0 } : undefined,
        ...config,
      };
      try {
        const loaded = await this.createVersion(full, version, bytes);
        const old = entry.versions.get(version);
        entry.versions.set(version, loaded);
        entry.state = "READY";
        entry.reason = undefined;
        if (old) await this.closeVersion(old);
      } catch (e) {
        if (entry.versions.size === 0) this.models.delete(name);
        throw e;
      }
    });
  }

  /** Unloads every version of a model; queued requests fail with 503, running batches finish. */
  unload(name: string): Promise<void> {
    return this.serialized(name, async () => {
      const entry = this.models.get(name);
      if (!entry) throw missing(`model '${name}' is not loaded`);
      entry.state = "UNLOADING";
      const versions = [...entry.versions.values()];
      entry.versions = new Map();
      await Promise.all(versions.map((v) => this.closeVersion(v)));
      this.models.delete(name);
    });
  }

  has(name: string, version?: string): boolean {
    const m = this.models.get(name);
    return (
      !!m && m.state === "READY" && (version === undefined ? m.versions.size > 0 : m.versions.has(version))
    );
  }

  /** SHA-256 (hex) of the model file a loaded version runs (undefined when not loaded). */
  digest(name: string, version: string): string | undefined {
    return this.models.get(name)?.versions.get(version)?.sha256;
  }

  isReady(name: string, version?: string): boolean {
    return this.has(name, version);
  }

  /** The protocol's model metadata; shapes include the batch dimension as -1 when the model batches. */
  metadata(name: string, version?: string): ModelMetadata {
    const v = this.version(name, version);
    const withBatch = (t: TensorMetadata): TensorMetadata => ({
      name: t.name,
      datatype: t.datatype,
      shape: v.config.maxBatchSize > 0 ? [-1, ...t.shape] : t.shape,
    });
    const entry = this.models.get(name) as ModelEntry;
    return {
      name,
      versions: [...entry.versions.keys()].sort(byNumber),
      platform: v.config.platform,
      inputs: v.config.inputs.map(withBatch),
      outputs: v.config.outputs.map(withBatch),
    };
  }

  /** The model's effective configuration (after filling tensors from the ONNX file). */
  config(name: string, version?: string): ModelConfig {
    return this.version(name, version).config;
  }

  /**
   * Validates a request against the model and runs it through the version's scheduler.
   * With `raw`, output `data` is the runtime's payload (typed arrays, lossless 64-bit
   * integers) for the binary tensor extension, not JSON values.
   */
  async infer(
    name: string,
    version: string | undefined,
    req: InferRequest,
    opts: { raw?: boolean } = {},
  ): Promise<InferResponse> {
    const v = this.version(name, version);
    const labels = { model: name, version: v.version };
    let inputs: Tensor[];
    let wanted: string[];
    try {
      ({ inputs, wanted } = this.prepare(name, v, req));
    } catch (e) {
      this.metrics.requestFailure.inc({ ...labels, reason: "invalid" });
      throw e;
    }
    let outputs: Record<string, Tensor>;
    try {
      outputs = await v.scheduler.submit(inputs);
    } catch (e) {
      if (!(e instanceof ServingError && e.code === "TEMPORARILY_UNAVAILABLE"))
        this.metrics.requestFailure.inc({ ...labels, reason: "backend" });
      throw e;
    }
    this.metrics.requestSuccess.inc(labels);
    return {
      model_name: name,
      model_version: v.version,
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: wanted.map((o) => (opts.raw ? rawTensor(outputs[o]) : encodeTensor(outputs[o]))),
    };
  }

  /** Stops every model (queued requests fail, running ones finish). */
  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((m) => this.unload(m).catch(() => undefined)));
  }

  private prepare(name: string, v: LoadedVersion, req: InferRequest): { inputs: Tensor[]; wanted: string[] } {
    const decls = v.config.inputs;
    const byName = new Map<string, Tensor>();
    for (const input of req.inputs) {
      if (byName.has(input.name)) throw badInput(`input '${input.name}' is given twice`);
      const decl = decls.find((d) => d.name === input.name);
      if (!decl)
        throw badInput(
          `model '${name}' has no input '${input.name}' (inputs: ${decls.map((d) => d.name).join(", ")})`,
        );
      byName.set(input.name, decodeTensor(input));
    }
    const batched = v.config.maxBatchSize > 0;
    const inputs = decls.map((decl) => {
      const t = byName.get(decl.name);
      if (!t) throw badInput(`model '${name}' needs input '${decl.name}', which the request does not carry`);
      checkAgainst(
        t,
        { ...decl, shape: batched ? [-1, ...decl.shape] : decl.shape },
        name,
        v.config.maxBatchSize,
      );
      return t;
    });
    if (batched && inputs.some((t) => t.shape[0] !== inputs[0].shape[0])) {
      throw badInput(`model '${name}': all inputs must have the same batch size (first dimension)`);
    }
    const all = v.config.outputs.map((o) => o.name);
    const wanted = req.outputs?.map((o) => o.name) ?? all;
    for (const o of wanted)
      if (!all.includes(o))
        throw badInput(`model '${name}' has no output '${o}' (outputs: ${all.join(", ")})`);
    return { inputs, wanted };
  }

  private version(name: string, version?: string): LoadedVersion {
    const m = this.models.get(name);
    if (!m || (m.versions.size === 0 && m.state !== "READY")) {
      throw missing(`model '${name}' is not loaded${m?.reason ? ` (${m.reason})` : ""}`);
    }
    if (version === undefined || version === "") {
      const latest = [...m.versions.keys()].sort(byNumber).at(-1);
      if (!latest) throw missing(`model '${name}' has no ready version`);
      return m.versions.get(latest) as LoadedVersion;
    }
    const v = m.versions.get(version);
    if (!v)
      throw missing(
        `model '${name}' has no version '${version}' (loaded: ${[...m.versions.keys()].sort(byNumber).join(", ")})`,
      );
    return v;
  }

  private async createVersion(
    config: ModelConfig,
    version: string,
    file: string | Uint8Array,
  ): Promise<LoadedVersion> {
    const provider = config.provider ?? this.opts.provider ?? "cpu";
    // The bytes that are hashed are the bytes that run: read once, hashed once, loaded from memory.
    const model = typeof file === "string" ? await readFile(file) : file;
    const sha256 = sha256Hex(model);
    const instances: OnnxInstance[] = [];
    try {
      for (let i = 0; i < config.instanceCount; i++)
        instances.push(await OnnxInstance.create(model, provider, this.opts.intraOpNumThreads ?? 0));
    } catch (e) {
      await Promise.all(instances.map((x) => x.close()));
      throw e;
    }
    const resolved = resolveTensors(config, instances[0]);
    const scheduler = new BatchScheduler(
      instances,
      {
        maxBatchSize: config.maxBatchSize,
        dynamic: config.dynamicBatching,
        maxQueueSize: config.dynamicBatching?.maxQueueSize ?? this.opts.maxQueueSize ?? 1024,
      },
      resolved.outputs.map((o) => o.name),
      this.metrics,
      { model: config.name, version },
    );
    this.log.info("model version loaded", {
      model: config.name,
      version,
      provider,
      instances: instances.length,
    });
    return { version, config: resolved, instances, scheduler, sha256 };
  }

  private async closeVersion(v: LoadedVersion): Promise<void> {
    await v.scheduler.close();
    await Promise.all(v.instances.map((i) => i.close()));
  }

  private async repositoryModels(): Promise<string[]> {
    if (!this.opts.repository) return [];
    const entries = await readdir(this.opts.repository, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  }

  private serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(name, next);
    return next;
  }
}

/** An output with its payload as is (the binary extension writes its bytes). */
function rawTensor(t: Tensor): InferResponse["outputs"][number] {
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: t.data as unknown as InferOutputData };
}

type InferOutputData = InferResponse["outputs"][number]["data"];

/**
 * Fills inputs/outputs the config leaves out from the ONNX model and checks declared ones
 * against it, so a wrong config.pbtxt fails at load time and not on the first request.
 */
function resolveTensors(config: ModelConfig, instance: OnnxInstance): LoadedVersion["config"] {
  const batched = config.maxBatchSize > 0;
  const fromModel = (list: TensorMetadata[], kind: string): TensorMetadata[] =>
    list.map((t) => {
      if (batched && t.shape.length > 0 && t.shape[0] !== -1) {
        throw badInput(
          `model '${config.name}': ${kind} '${t.name}' has a fixed first dimension ${t.shape[0]}, so max_batch_size must be 0`,
        );
      }
      return { ...t, shape: batched ? t.shape.slice(1) : t.shape };
    });
  const check = (declared: TensorMetadata[] | undefined, actual: TensorMetadata[], kind: string) => {
    const real = fromModel(actual, kind);
    if (!declared) return real;
    for (const d of declared) {
      const a = real.find((r) => r.name === d.name);
      if (!a)
        throw badInput(
          `model '${config.name}': config ${kind} '${d.name}' is not in the ONNX model (has: ${real.map((r) => r.name).join(", ")})`,
        );
      if (a.datatype !== d.datatype)
        throw badInput(
          `model '${config.name}': ${kind} '${d.name}' is ${a.datatype} in the model but ${d.datatype} in config.pbtxt`,
        );
      if (a.shape.length !== d.shape.length)
        throw badInput(
          `model '${config.name}': ${kind} '${d.name}' has rank ${a.shape.length} in the model but dims [${d.shape.join(",")}] in config.pbtxt`,
        );
    }
    return declared;
  };
  const inputs = check(config.inputs, instance.inputs, "input");
  const missingInput = instance.inputs.find((i) => !inputs.some((d) => d.name === i.name));
  if (missingInput)
    throw badInput(
      `model '${config.name}': config.pbtxt does not declare model input '${missingInput.name}'`,
    );
  return { ...config, inputs, outputs: check(config.outputs, instance.outputs, "output") };
}

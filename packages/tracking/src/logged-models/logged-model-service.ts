import { withoutDotSegments } from "@keel/artifacts";
import type {
  CreateLoggedModelRequest,
  KeyValueInput,
  LoggedModel,
  LoggedModelStatus,
  LogOutputsRequest,
  SearchLoggedModelsRequest,
} from "@keel/contract";
import { currentPrincipal, newId } from "@keel/core";
import { activeExperiment, joinUri, storePathOf } from "../artifact-scope";
import { invalidParam, missing, missingParam } from "../errors";
import { generateRunName } from "../run-names";
import { mustBeActive } from "../run-store";
import type { TrackingContext } from "../tracking-context";
import { searchLoggedModelRecords } from "./logged-model-search";
import { type LoggedModelRecord, LoggedModelStore } from "./logged-model-store";

const required = (v: string | undefined, name: string): string => {
  if (!v) throw missingParam(name);
  return v;
};

function kvRecord(list: KeyValueInput | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list ?? []) {
    if (!e.key) throw invalidParam(`Missing value for required parameter '${what}.key'.`);
    out[e.key] = e.value ?? "";
  }
  return out;
}

/** The registered versions of a logged model, as MLflow 3's registry lists them on it. */
export const MODEL_VERSIONS_TAG = "mlflow.modelVersions";

function parseVersions(tag: string | undefined): Array<{ name: string; version: number }> {
  try {
    const v = JSON.parse(tag ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

const pairs = (m: Record<string, string>) => Object.entries(m).map(([key, value]) => ({ key, value }));

export function loggedModelJson(r: LoggedModelRecord): LoggedModel {
  return {
    info: {
      model_id: r.modelId,
      experiment_id: r.experimentId,
      name: r.name,
      creation_timestamp_ms: r.creationTime,
      last_updated_timestamp_ms: r.lastUpdatedTime,
      artifact_uri: r.artifactUri,
      status: r.status,
      ...(r.modelType !== undefined && { model_type: r.modelType }),
      ...(r.sourceRunId !== undefined && { source_run_id: r.sourceRunId }),
      ...(r.statusMessage !== undefined && { status_message: r.statusMessage }),
      tags: pairs(r.tags),
    },
    data: { params: pairs(r.params), metrics: r.metrics.map((m) => ({ ...m, model_id: r.modelId })) },
  };
}

/**
 * MLflow 3's logged models: created pending by `log_model`, its files uploaded through the
 * artifact proxy to `<experiment artifact location>/models/<model_id>/artifacts`, then
 * finalized ready (or failed). Runs record the models they produced with log-outputs.
 */
export class LoggedModelService {
  readonly store: LoggedModelStore;

  constructor(private readonly ctx: TrackingContext) {
    this.store = new LoggedModelStore(ctx.deps.store);
  }

  async create(r: CreateLoggedModelRequest): Promise<{ model: LoggedModel }> {
    const experimentId = required(r.experiment_id, "experiment_id");
    const exp = await activeExperiment(this.ctx, experimentId);
    const modelId = `m-${newId()}`;
    const now = this.ctx.now();
    const rec: LoggedModelRecord = {
      modelId,
      experimentId,
      name: r.name || generateRunName(),
      creationTime: now,
      lastUpdatedTime: now,
      artifactUri: joinUri(exp.artifactLocation, "models", modelId, "artifacts"),
      status: "LOGGED_MODEL_PENDING",
      modelType: r.model_type,
      sourceRunId: r.source_run_id,
      tags: kvRecord(r.tags, "tags"),
      params: kvRecord(r.params, "params"),
      metrics: [],
      createdBy: currentPrincipal(),
    };
    await this.store.create(rec);
    await this.ctx.deps.audit.append({
      action: "tracking.logged_model.create",
      resource: `logged_model:${modelId}`,
      state: { experimentId, name: rec.name, sourceRunId: rec.sourceRunId },
    });
    return { model: loggedModelJson(rec) };
  }

  /** The experiment a logged model belongs to (access checks); RESOURCE_DOES_NOT_EXIST as MLflow words it. */
  async experimentOf(id: string): Promise<string> {
    return (await this.store.mustGet(id)).experimentId;
  }

  async get(id: string): Promise<{ model: LoggedModel }> {
    return { model: loggedModelJson(await this.store.mustGet(required(id, "model_id"))) };
  }

  async finalize(id: string, status: LoggedModelStatus | undefined): Promise<{ model: LoggedModel }> {
    if (status === undefined) throw missingParam("status");
    if (status !== "LOGGED_MODEL_READY" && status !== "LOGGED_MODEL_UPLOAD_FAILED") {
      throw invalidParam(
        `Invalid value ${status} for parameter 'status' supplied. ` +
          "It must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.",
      );
    }
    const rec = await this.store.update(id, {
      set: [
        ["status", status],
        ["lastUpdatedTime", this.ctx.now()],
      ],
    });
    return { model: loggedModelJson(rec) };
  }

  async delete(id: string): Promise<Record<string, never>> {
    const rec = await this.store.mustGet(id);
    await this.store.delete(id);
    await this.ctx.deps.audit.append({
      action: "tracking.logged_model.delete",
      resource: `logged_model:${id}`,
      state: { experimentId: rec.experimentId, name: rec.name },
    });
    return {};
  }

  async setTags(id: string, tags: KeyValueInput | undefined): Promise<{ model: LoggedModel }> {
    const entries = Object.entries(kvRecord(tags, "tags"));
    const rec = await this.store.update(id, {
      set: [
        ...entries.map(([k, v]): [string[], string] => [["tags", k], v]),
        ["lastUpdatedTime", this.ctx.now()],
      ],
    });
    return { model: loggedModelJson(rec) };
  }

  async deleteTag(id: string, key: string | undefined): Promise<Record<string, never>> {
    const tagKey = required(key, "tag_key");
    const rec = await this.store.mustGet(id);
    if (!(tagKey in rec.tags)) {
      throw missing(`No tag with key '${tagKey}' found for model with ID '${id}'.`);
    }
    await this.store.update(id, { remove: [["tags", tagKey]] });
    return {};
  }

  async logParams(id: string, params: KeyValueInput | undefined): Promise<Record<string, never>> {
    const entries = Object.entries(kvRecord(params, "params"));
    if (entries.length === 0) {
      await this.store.mustGet(id);
      return {};
    }
    await this.store.update(id, { set: entries.map(([k, v]): [string[], string] => [["params", k], v]) });
    return {};
  }

  async search(r: SearchLoggedModelsRequest): Promise<{ models?: LoggedModel[]; next_page_token?: string }> {
    const ids = [...new Set(r.experiment_ids ?? [])];
    if (ids.length === 0) throw missingParam("experiment_ids");
    const all = (await Promise.all(ids.map((id) => this.store.listByExperiment(id)))).flat();
    const page = searchLoggedModelRecords(all, r, ids);
    return { models: page.models.map(loggedModelJson), next_page_token: page.next_page_token };
  }

  /** Where a model's files are in the artifact store, and the requested path under it. */
  private async artifactPath(
    id: string,
    sub: string | undefined,
  ): Promise<{ rec: LoggedModelRecord; root: string; path: string }> {
    const rec = await this.store.mustGet(required(id, "model_id"));
    const root = storePathOf(rec.artifactUri, this.ctx.deps.artifacts);
    if (!root) throw invalidParam(`The artifacts of logged model '${id}' are not served by this server.`);
    const rel = withoutDotSegments(sub ?? "").replace(/^\/+|\/+$/g, "");
    if (rel.split("/").some((seg) => seg === "..")) throw invalidParam(`Invalid artifact path '${sub}'`);
    return { rec, root, path: rel ? `${root}/${rel}` : root };
  }

  async listArtifacts(
    id: string,
    dir: string | undefined,
  ): Promise<{ root_uri: string; files?: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    const { rec, root, path } = await this.artifactPath(id, dir);
    const entries = await this.ctx.deps.artifacts.list(path);
    const files = entries.map((e) => ({
      path: e.path.slice(root.length + 1),
      is_dir: e.isDir,
      file_size: e.isDir ? undefined : e.size,
    }));
    return { root_uri: rec.artifactUri, files: files.length ? files : undefined };
  }

  async artifactBytes(id: string, file: string | undefined): Promise<Buffer> {
    const { path } = await this.artifactPath(id, required(file, "artifact_file_path"));
    return this.ctx.deps.artifacts.getBytes(path);
  }

  /**
   * Lists a registered version on the logged model its source names (`.../models/<model_id>/...`)
   * in the `mlflow.modelVersions` tag, as MLflow 3's registry does; other sources are ignored.
   */
  async recordModelVersion(source: string, name: string, version: number): Promise<void> {
    const modelId =
      /(?:^|\/)models\/(m-[0-9a-f]+)(?:\/|$)/.exec(source)?.[1] ??
      /^models:\/(m-[0-9a-f]+)$/.exec(source)?.[1];
    if (!modelId) return;
    const rec = await this.store.get(modelId);
    if (!rec) return;
    const list = parseVersions(rec.tags[MODEL_VERSIONS_TAG]);
    if (list.some((v) => v.name === name && v.version === version)) return;
    list.push({ name, version });
    const json = `[${list.map((v) => `{"name": ${JSON.stringify(v.name)}, "version": ${v.version}}`).join(", ")}]`;
    await this.store.update(modelId, { set: [[["tags", MODEL_VERSIONS_TAG], json]] });
  }

  /** Records the logged models a run produced (`run.outputs.model_outputs`). */
  async logOutputs(r: LogOutputsRequest): Promise<Record<string, never>> {
    const runId = required(r.run_id, "run_id");
    if (!r.models) throw missingParam("models");
    const outputs: Record<string, number> = {};
    for (const m of r.models) outputs[required(m.model_id, "model_id")] = m.step ?? 0;
    await this.ctx.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      rec.outputs = { ...rec.outputs, ...outputs };
    });
    return {};
  }
}

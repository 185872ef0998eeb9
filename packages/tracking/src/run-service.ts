import { withoutDotSegments } from "@keel/artifacts";
import { currentPrincipal, newId, parseWith } from "@keel/core";
import { invalidParam } from "./errors";
import { DEFAULT_EXPERIMENT_ID } from "./experiment-store";
import { runInfoJson, runJson } from "./mlflow-json";
import { validatePathIsSafe } from "./path-safety";
import { generateRunName } from "./run-names";
import { mustBeActive, RUN_NAME_TAG, type RunRecord } from "./run-store";
import {
  type CreateRunRequest,
  type ListArtifactsRequest,
  type Run,
  type RunInfo,
  runIdRequest,
  type UpdateRunRequest,
} from "./schemas";
import { requireRunId, type TrackingContext } from "./tracking-context";
import { LIMITS, validateLength, validateTag } from "./validation";

export const USER_TAG = "mlflow.user";

/** Runs: create, read, update, delete and restore, and the artifacts under a run. */
export class RunService {
  constructor(private readonly ctx: TrackingContext) {}

  async createRun(r: CreateRunRequest): Promise<{ run: Run }> {
    const experimentId = r.experiment_id || DEFAULT_EXPERIMENT_ID;
    const tags: Record<string, string> = {};
    for (const t of r.tags ?? []) {
      validateTag(t.key, t.value ?? "");
      tags[t.key] = t.value ?? "";
    }
    const tagName = tags[RUN_NAME_TAG];
    if (r.run_name && tagName !== undefined && tagName !== r.run_name) {
      throw invalidParam(
        `Both 'run_name' argument and '${RUN_NAME_TAG}' tag are specified, but with different values ` +
          `(run_name='${r.run_name}', ${RUN_NAME_TAG}='${tagName}').`,
      );
    }
    const runName = r.run_name || tagName || generateRunName();
    validateLength("Run name", runName, LIMITS.maxRunNameLength);
    tags[RUN_NAME_TAG] = runName;
    const userId = r.user_id || tags[USER_TAG] || currentPrincipal();
    tags[USER_TAG] ??= userId;
    if (experimentId === DEFAULT_EXPERIMENT_ID) await this.ctx.ensureDefaultExperiment();
    const exp = await this.ctx.experiments.mustGet(experimentId);
    if (exp.lifecycleStage !== "active") {
      throw invalidParam(
        `The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycleStage}.`,
      );
    }
    const runId = newId();
    const rec: RunRecord = {
      runId,
      experimentId,
      runName,
      userId,
      status: "RUNNING",
      startTime: r.start_time ?? this.ctx.now(),
      artifactUri: `${exp.artifactLocation.replace(/\/+$/, "")}/${runId}/artifacts`,
      lifecycleStage: "active",
      params: {},
      tags,
      metrics: {},
      inputs: {},
      version: 0,
      createdBy: currentPrincipal(),
    };
    await this.ctx.runs.create(rec);
    await this.ctx.deps.audit.append({
      action: "tracking.run.create",
      resource: `run:${runId}`,
      state: { experimentId, runName, userId, status: rec.status },
    });
    return { run: runJson(rec) };
  }

  async getRun(runId: string): Promise<{ run: Run }> {
    const id = requireRunId(parseWith(runIdRequest, { run_id: runId }));
    return { run: runJson(await this.ctx.runs.mustGet(id)) };
  }

  async updateRun(r: UpdateRunRequest): Promise<{ run_info: RunInfo }> {
    const runId = requireRunId(r);
    if (r.run_name !== undefined) validateLength("Run name", r.run_name, LIMITS.maxRunNameLength);
    await this.ctx.assertNotFrozen(runId, "updating the run");
    const rec = await this.ctx.runs.mutate(runId, (rec) => {
      mustBeActive(rec);
      if (r.status) rec.status = r.status;
      if (r.end_time !== undefined) rec.endTime = r.end_time;
      if (r.run_name) {
        rec.runName = r.run_name;
        rec.tags[RUN_NAME_TAG] = r.run_name;
      }
    });
    await this.ctx.deps.audit.append({
      action: "tracking.run.update",
      resource: `run:${runId}`,
      state: { status: rec.status, endTime: rec.endTime, runName: rec.runName },
    });
    return { run_info: runInfoJson(rec) };
  }

  async deleteRun(runId: string): Promise<Record<string, never>> {
    return this.setRunLifecycle(runId, "deleted");
  }

  async restoreRun(runId: string): Promise<Record<string, never>> {
    return this.setRunLifecycle(runId, "active");
  }

  private async setRunLifecycle(runId: string, stage: "active" | "deleted"): Promise<Record<string, never>> {
    const id = requireRunId(parseWith(runIdRequest, { run_id: runId }));
    if (stage === "deleted") await this.ctx.assertNotFrozen(id, "deleting the run");
    await this.ctx.runs.mutate(id, (rec) => this.ctx.applyLifecycle(rec, stage));
    await this.ctx.deps.audit.append({
      action: stage === "deleted" ? "tracking.run.delete" : "tracking.run.restore",
      resource: `run:${id}`,
      state: { lifecycleStage: stage },
    });
    return {};
  }

  /** Direct children of a path under the run's artifact root. */
  async listArtifacts(
    r: ListArtifactsRequest,
  ): Promise<{ root_uri: string; files?: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    const runId = requireRunId(r);
    const rec = await this.ctx.runs.mustGet(runId);
    if (r.path) validatePathIsSafe(r.path);
    const path = withoutDotSegments(r.path ?? "").replace(/^\/+|\/+$/g, "");
    const root = `${rec.experimentId}/${rec.runId}/artifacts`;
    const entries = await this.ctx.deps.artifacts.list(path ? `${root}/${path}` : root);
    const files = entries.map((e) => ({
      path: e.path.slice(root.length + 1),
      is_dir: e.isDir,
      file_size: e.isDir ? undefined : e.size,
    }));
    return { root_uri: rec.artifactUri, files: files.length ? files : undefined };
  }
}

import { parseWith } from "@keel/core";
import { missing } from "./errors";
import { DEFAULT_EXPERIMENT_ID, type ExperimentRecord } from "./experiment-store";
import { experimentJson } from "./mlflow-json";
import {
  type CreateExperimentRequest,
  type DeleteExperimentTagRequest,
  type Experiment,
  experimentIdRequest,
  getByNameRequest,
  type SetExperimentTagRequest,
  type UpdateExperimentRequest,
} from "./schemas";
import type { TrackingContext } from "./tracking-context";
import { validateExperimentName, validateExperimentTag, validateLength } from "./validation";
/** Experiments: create, read, rename, delete and restore (with their runs), tags. */
export class ExperimentService {
  constructor(private readonly ctx: TrackingContext) {}

  async createExperiment(r: CreateExperimentRequest): Promise<{ experiment_id: string }> {
    const name = validateExperimentName(r.name);
    const tags: Record<string, string> = {};
    for (const t of r.tags ?? []) {
      validateExperimentTag(t.key, t.value ?? "");
      tags[t.key] = t.value ?? "";
    }
    if (r.artifact_location) validateLength("artifact_location", r.artifact_location, 2000);
    await this.ctx.ensureDefaultExperiment();
    const id = await this.ctx.experiments.nextId();
    const t = this.ctx.now();
    const rec: ExperimentRecord = {
      experimentId: id,
      name,
      artifactLocation: r.artifact_location || this.ctx.artifactLocationFor(id),
      lifecycleStage: "active",
      creationTime: t,
      lastUpdateTime: t,
      tags,
    };
    await this.ctx.experiments.create(rec);
    await this.ctx.deps.audit.append({
      action: "tracking.experiment.create",
      resource: `experiment:${id}`,
      state: rec,
    });
    return { experiment_id: id };
  }

  async getExperiment(id: string): Promise<{ experiment: Experiment }> {
    const { experiment_id } = parseWith(experimentIdRequest, { experiment_id: id });
    if (experiment_id === DEFAULT_EXPERIMENT_ID) await this.ctx.ensureDefaultExperiment();
    return { experiment: experimentJson(await this.ctx.experiments.mustGet(experiment_id)) };
  }

  async getExperimentByName(name: string): Promise<{ experiment: Experiment }> {
    const { experiment_name } = parseWith(getByNameRequest, { experiment_name: name });
    await this.ctx.ensureDefaultExperiment();
    const rec = await this.ctx.experiments.getByName(experiment_name);
    if (!rec) throw missing(`Could not find experiment with name '${experiment_name}'`);
    return { experiment: experimentJson(rec) };
  }

  async updateExperiment(r: UpdateExperimentRequest): Promise<Record<string, never>> {
    if (r.new_name === undefined) return {};
    const name = validateExperimentName(r.new_name);
    const before = await this.ctx.experiments.mustGet(r.experiment_id);
    const rec = await this.ctx.experiments.rename(r.experiment_id, name);
    await this.ctx.deps.audit.append({
      action: "tracking.experiment.rename",
      resource: `experiment:${r.experiment_id}`,
      state: { from: before.name, to: rec.name },
    });
    return {};
  }

  async deleteExperiment(id: string): Promise<Record<string, never>> {
    return this.setExperimentLifecycle(id, "deleted");
  }

  async restoreExperiment(id: string): Promise<Record<string, never>> {
    return this.setExperimentLifecycle(id, "active");
  }

  /** Deleting an experiment deletes its active runs too, and restoring restores them (as MLflow's SQL store does). */
  private async setExperimentLifecycle(
    id: string,
    stage: "active" | "deleted",
  ): Promise<Record<string, never>> {
    const { experiment_id } = parseWith(experimentIdRequest, { experiment_id: id });
    await this.ctx.experiments.setLifecycle(experiment_id, stage);
    const runs = await this.ctx.runs.listByExperiment(experiment_id);
    const from = stage === "deleted" ? "active" : "deleted";
    for (const run of runs.filter((x) => x.lifecycleStage === from)) {
      await this.ctx.runs.mutate(run.runId, (rec) => {
        if (rec.lifecycleStage !== from) return false;
        this.ctx.applyLifecycle(rec, stage);
      });
    }
    await this.ctx.deps.audit.append({
      action: stage === "deleted" ? "tracking.experiment.delete" : "tracking.experiment.restore",
      resource: `experiment:${experiment_id}`,
      state: { lifecycleStage: stage, runs: runs.filter((x) => x.lifecycleStage === from).length },
    });
    return {};
  }

  async setExperimentTag(r: SetExperimentTagRequest): Promise<Record<string, never>> {
    validateExperimentTag(r.key, r.value);
    await this.ctx.experiments.updateTag(r.experiment_id, r.key, r.value);
    return {};
  }

  async deleteExperimentTag(r: DeleteExperimentTagRequest): Promise<Record<string, never>> {
    await this.ctx.experiments.updateTag(r.experiment_id, r.key, undefined);
    return {};
  }
}

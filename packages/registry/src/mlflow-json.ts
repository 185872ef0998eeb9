import type { RegisteredModelView } from "./model-service";
import type { ModelRecord, ModelVersionView } from "./records";

/** MLflow's JSON for the registry's records (int64 fields as numbers, versions as strings). */
const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([key, value]) => ({ key, value }));

export function modelVersionJson(v: ModelVersionView) {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
    user_id: v.userId,
    current_stage: v.currentStage,
    description: v.description,
    source: v.source,
    run_id: v.runId,
    status: "READY",
    status_message: "",
    tags: tagList(v.tags),
    run_link: v.runLink,
    aliases: v.aliases,
  };
}

export function registeredModelJson(model: ModelRecord, latestVersions: ModelVersionView[] = []) {
  return {
    name: model.name,
    creation_timestamp: model.creationTimestamp,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    user_id: model.userId,
    description: model.description,
    latest_versions: latestVersions.map(modelVersionJson),
    tags: tagList(model.tags),
    aliases: Object.entries(model.aliases)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([alias, version]) => ({ alias, version: String(version) })),
  };
}

export const viewJson = (v: RegisteredModelView) => registeredModelJson(v.model, v.latestVersions);

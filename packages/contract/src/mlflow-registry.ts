import { z } from "zod";
import { mlflowRouteFactory } from "./mlflow-route";

/** MLflow model registry REST API (model_registry.proto). */
const P = "/api/2.0/mlflow";
const tags = ["MLflow model registry"] as const;

const name = z.string({ error: "name is required" });
const version = z.union([z.string(), z.number()]).transform(String);
const tagList = z.array(z.object({ key: z.string(), value: z.string() })).optional();
const stringList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((s) => s === "true")]);
export const registrySearchRequest = z.object({
  filter: z.string().optional(),
  max_results: z.coerce.number().int().optional(),
  order_by: stringList,
  page_token: z.string().optional(),
});

const keyValue = z.object({ key: z.string(), value: z.string() });
export const modelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string().optional(),
  current_stage: z.string(),
  description: z.string().optional(),
  source: z.string(),
  run_id: z.string().optional(),
  status: z.string(),
  status_message: z.string(),
  tags: z.array(keyValue),
  run_link: z.string().optional(),
  aliases: z.array(z.string()),
});
export const registeredModelSchema = z.object({
  name: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string().optional(),
  description: z.string().optional(),
  latest_versions: z.array(modelVersionSchema),
  tags: z.array(keyValue),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })),
});
export type ModelVersionJson = z.infer<typeof modelVersionSchema>;
export type RegisteredModelJson = z.infer<typeof registeredModelSchema>;

const ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "INVALID_STATE",
] as const;
const route = mlflowRouteFactory({ prefix: P, tags, errors: ERRORS, ajax: false });
const empty = z.object({});
const model = z.object({ registered_model: registeredModelSchema });
const mv = z.object({ model_version: modelVersionSchema });

export const registryRoutes = {
  createRegisteredModel: route(
    "registry.createRegisteredModel",
    "POST",
    "/registered-models/create",
    "Create a registered model",
    z.object({ name, description: z.string().optional(), tags: tagList }),
    model,
  ),
  getRegisteredModel: route(
    "registry.getRegisteredModel",
    "GET",
    "/registered-models/get",
    "Get a registered model with its latest versions",
    z.object({ name }),
    model,
  ),
  renameRegisteredModel: route(
    "registry.renameRegisteredModel",
    "POST",
    "/registered-models/rename",
    "Rename a registered model",
    z.object({ name, new_name: z.string() }),
    model,
  ),
  updateRegisteredModel: route(
    "registry.updateRegisteredModel",
    "PATCH",
    "/registered-models/update",
    "Update a registered model's description",
    z.object({ name, description: z.string().optional() }),
    model,
  ),
  deleteRegisteredModel: route(
    "registry.deleteRegisteredModel",
    "DELETE",
    "/registered-models/delete",
    "Delete a registered model",
    z.object({ name }),
    empty,
  ),
  searchRegisteredModels: route(
    "registry.searchRegisteredModels",
    "GET",
    "/registered-models/search",
    "Search registered models",
    registrySearchRequest,
    z.object({ registered_models: z.array(registeredModelSchema), next_page_token: z.string().optional() }),
  ),
  getLatestVersions: route(
    "registry.getLatestVersions",
    "GET",
    "/registered-models/get-latest-versions",
    "Latest version per stage",
    z.object({ name, stages: stringList }),
    z.object({ model_versions: z.array(modelVersionSchema) }),
    { acceptsPost: true },
  ),
  setRegisteredModelTag: route(
    "registry.setRegisteredModelTag",
    "POST",
    "/registered-models/set-tag",
    "Set a registered model tag",
    z.object({ name, key: z.string(), value: z.string() }),
    empty,
  ),
  deleteRegisteredModelTag: route(
    "registry.deleteRegisteredModelTag",
    "DELETE",
    "/registered-models/delete-tag",
    "Delete a registered model tag",
    z.object({ name, key: z.string() }),
    empty,
  ),
  setAlias: route(
    "registry.setAlias",
    "POST",
    "/registered-models/alias",
    "Point an alias at a version (protected aliases need an approved promotion)",
    z.object({ name, alias: z.string(), version }),
    empty,
  ),
  deleteAlias: route(
    "registry.deleteAlias",
    "DELETE",
    "/registered-models/alias",
    "Delete an alias",
    z.object({ name, alias: z.string() }),
    empty,
  ),
  getVersionByAlias: route(
    "registry.getVersionByAlias",
    "GET",
    "/registered-models/alias",
    "The version an alias points at",
    z.object({ name, alias: z.string() }),
    mv,
  ),
  createModelVersion: route(
    "registry.createModelVersion",
    "POST",
    "/model-versions/create",
    "Register a new version of a model",
    z.object({
      name,
      source: z.string({ error: "source is required" }),
      run_id: z.string().optional(),
      run_link: z.string().optional(),
      description: z.string().optional(),
      tags: tagList,
    }),
    mv,
  ),
  getModelVersion: route(
    "registry.getModelVersion",
    "GET",
    "/model-versions/get",
    "Get a model version",
    z.object({ name, version }),
    mv,
  ),
  updateModelVersion: route(
    "registry.updateModelVersion",
    "PATCH",
    "/model-versions/update",
    "Update a version's description",
    z.object({ name, version, description: z.string().optional() }),
    mv,
  ),
  deleteModelVersion: route(
    "registry.deleteModelVersion",
    "DELETE",
    "/model-versions/delete",
    "Delete a model version",
    z.object({ name, version }),
    empty,
  ),
  searchModelVersions: route(
    "registry.searchModelVersions",
    "GET",
    "/model-versions/search",
    "Search model versions",
    registrySearchRequest,
    z.object({ model_versions: z.array(modelVersionSchema), next_page_token: z.string().optional() }),
  ),
  getDownloadUri: route(
    "registry.getDownloadUri",
    "GET",
    "/model-versions/get-download-uri",
    "Where a version's artifacts are",
    z.object({ name, version }),
    z.object({ artifact_uri: z.string() }),
  ),
  transitionStage: route(
    "registry.transitionStage",
    "POST",
    "/model-versions/transition-stage",
    "Move a version to a stage (protected stages need an approved promotion)",
    z.object({ name, version, stage: z.string(), archive_existing_versions: bool.optional() }),
    mv,
  ),
  setModelVersionTag: route(
    "registry.setModelVersionTag",
    "POST",
    "/model-versions/set-tag",
    "Set a model version tag",
    z.object({ name, version, key: z.string(), value: z.string() }),
    empty,
  ),
  deleteModelVersionTag: route(
    "registry.deleteModelVersionTag",
    "DELETE",
    "/model-versions/delete-tag",
    "Delete a model version tag",
    z.object({ name, version, key: z.string() }),
    empty,
  ),
};

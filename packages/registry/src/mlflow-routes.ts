import { mount, registryRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { modelVersionJson, registeredModelJson, viewJson } from "./mlflow-json";
import type { RegistryService } from "./registry-service";

const searchInput = (b: {
  filter?: string;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}) => ({
  filter: b.filter,
  maxResults: b.max_results,
  orderBy: b.order_by,
  pageToken: b.page_token,
});

/** The model registry's MLflow REST endpoints (model_registry.proto), mounted from the contract. */
export function mountMlflowRegistryRoutes(app: Hono, svc: RegistryService): void {
  mount(app, r.createRegisteredModel, async ({ body }) => ({
    registered_model: registeredModelJson(await svc.createRegisteredModel(body)),
  }));
  mount(app, r.getRegisteredModel, async ({ body }) => ({
    registered_model: viewJson(await svc.getRegisteredModel(body.name)),
  }));
  mount(app, r.renameRegisteredModel, async ({ body }) => ({
    registered_model: registeredModelJson(await svc.renameRegisteredModel(body.name, body.new_name)),
  }));
  mount(app, r.updateRegisteredModel, async ({ body }) => ({
    registered_model: registeredModelJson(await svc.updateRegisteredModel(body.name, body.description)),
  }));
  mount(app, r.deleteRegisteredModel, ({ body }) => svc.deleteRegisteredModel(body.name));
  mount(app, r.searchRegisteredModels, async ({ body }) => {
    const res = await svc.searchRegisteredModels(searchInput(body));
    return { registered_models: res.models.map(viewJson), next_page_token: res.nextPageToken };
  });
  mount(app, r.getLatestVersions, async ({ body }) => ({
    model_versions: (await svc.getLatestVersions(body.name, body.stages)).map(modelVersionJson),
  }));
  mount(app, r.setRegisteredModelTag, ({ body }) =>
    svc.setRegisteredModelTag(body.name, body.key, body.value),
  );
  mount(app, r.deleteRegisteredModelTag, ({ body }) => svc.deleteRegisteredModelTag(body.name, body.key));
  mount(app, r.setAlias, ({ body }) => svc.setAlias(body.name, body.alias, body.version));
  mount(app, r.deleteAlias, ({ body }) => svc.deleteAlias(body.name, body.alias));
  mount(app, r.getVersionByAlias, async ({ body }) => ({
    model_version: modelVersionJson(await svc.getVersionByAlias(body.name, body.alias)),
  }));
  mount(app, r.createModelVersion, async ({ body }) => ({
    model_version: modelVersionJson(
      await svc.createModelVersion({
        name: body.name,
        source: body.source,
        runId: body.run_id || undefined,
        runLink: body.run_link,
        description: body.description,
        tags: body.tags,
      }),
    ),
  }));
  mount(app, r.getModelVersion, async ({ body }) => ({
    model_version: modelVersionJson(await svc.getModelVersion(body.name, body.version)),
  }));
  mount(app, r.updateModelVersion, async ({ body }) => ({
    model_version: modelVersionJson(await svc.updateModelVersion(body.name, body.version, body.description)),
  }));
  mount(app, r.deleteModelVersion, ({ body }) => svc.deleteModelVersion(body.name, body.version));
  mount(app, r.searchModelVersions, async ({ body }) => {
    const res = await svc.searchModelVersions(searchInput(body));
    return { model_versions: res.versions.map(modelVersionJson), next_page_token: res.nextPageToken };
  });
  mount(app, r.getDownloadUri, async ({ body }) => ({
    artifact_uri: await svc.getDownloadUri(body.name, body.version),
  }));
  mount(app, r.transitionStage, async ({ body }) => ({
    model_version: modelVersionJson(
      await svc.transitionStage(body.name, body.version, body.stage, body.archive_existing_versions ?? false),
    ),
  }));
  mount(app, r.setModelVersionTag, ({ body }) =>
    svc.setVersionTag(body.name, body.version, body.key, body.value),
  );
  mount(app, r.deleteModelVersionTag, ({ body }) => svc.deleteVersionTag(body.name, body.version, body.key));
}

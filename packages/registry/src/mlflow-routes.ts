import { jsonBody, parseWith, queryObject } from "@keel/core";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { modelVersionJson, registeredModelJson, viewJson } from "./mlflow-json";
import type { RegistryService } from "./registry-service";

const PREFIX = "/api/2.0/mlflow";

const name = z.string({ error: "name is required" });
const version = z.union([z.string(), z.number()]).transform(String);
const tags = z.array(z.object({ key: z.string(), value: z.string() })).optional();
const stringList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));
const search = z.object({
  filter: z.string().optional(),
  max_results: z.coerce.number().int().optional(),
  order_by: stringList,
  page_token: z.string().optional(),
});
const searchInput = (r: z.infer<typeof search>) => ({
  filter: r.filter,
  maxResults: r.max_results,
  orderBy: r.order_by,
  pageToken: r.page_token,
});
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((s) => s === "true")]);

/**
 * Reads a request the way MLflow's server does: GET parameters from the query string,
 * everything else from the JSON body (query parameters are accepted there too, for clients
 * that send DELETE parameters in the URL).
 */
async function input<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (c.req.method === "GET") return parseWith(schema, queryObject(c));
  const body = await jsonBody(c, z.record(z.string(), z.unknown()));
  return parseWith(schema, { ...queryObject(c), ...body });
}

type Method = "get" | "post" | "patch" | "delete";

/** The model registry's MLflow REST endpoints (model_registry.proto), as thin calls into the service. */
export function mountMlflowRegistryRoutes(app: Hono, svc: RegistryService): void {
  const route = <S extends z.ZodType>(
    methods: Method[],
    path: string,
    schema: S,
    handler: (req: z.infer<S>) => Promise<unknown>,
  ) => {
    for (const m of methods)
      app[m](`${PREFIX}${path}`, async (c) => c.json((await handler(await input(c, schema))) ?? {}));
  };

  route(
    ["post"],
    "/registered-models/create",
    z.object({ name, description: z.string().optional(), tags }),
    async (r) => ({
      registered_model: registeredModelJson(await svc.createRegisteredModel(r)),
    }),
  );
  route(["get"], "/registered-models/get", z.object({ name }), async (r) => ({
    registered_model: viewJson(await svc.getRegisteredModel(r.name)),
  }));
  route(["post"], "/registered-models/rename", z.object({ name, new_name: z.string() }), async (r) => ({
    registered_model: registeredModelJson(await svc.renameRegisteredModel(r.name, r.new_name)),
  }));
  route(
    ["patch"],
    "/registered-models/update",
    z.object({ name, description: z.string().optional() }),
    async (r) => ({
      registered_model: registeredModelJson(await svc.updateRegisteredModel(r.name, r.description)),
    }),
  );
  route(["delete"], "/registered-models/delete", z.object({ name }), async (r) => {
    await svc.deleteRegisteredModel(r.name);
  });
  route(["get"], "/registered-models/search", search, async (r) => {
    const res = await svc.searchRegisteredModels(searchInput(r));
    return { registered_models: res.models.map(viewJson), next_page_token: res.nextPageToken };
  });
  route(
    ["post", "get"],
    "/registered-models/get-latest-versions",
    z.object({ name, stages: stringList }),
    async (r) => ({
      model_versions: (await svc.getLatestVersions(r.name, r.stages)).map(modelVersionJson),
    }),
  );
  route(
    ["post"],
    "/registered-models/set-tag",
    z.object({ name, key: z.string(), value: z.string() }),
    async (r) => {
      await svc.setRegisteredModelTag(r.name, r.key, r.value);
    },
  );
  route(["delete"], "/registered-models/delete-tag", z.object({ name, key: z.string() }), async (r) => {
    await svc.deleteRegisteredModelTag(r.name, r.key);
  });
  route(["post"], "/registered-models/alias", z.object({ name, alias: z.string(), version }), async (r) => {
    await svc.setAlias(r.name, r.alias, r.version);
  });
  route(["delete"], "/registered-models/alias", z.object({ name, alias: z.string() }), async (r) => {
    await svc.deleteAlias(r.name, r.alias);
  });
  route(["get"], "/registered-models/alias", z.object({ name, alias: z.string() }), async (r) => ({
    model_version: modelVersionJson(await svc.getVersionByAlias(r.name, r.alias)),
  }));

  route(
    ["post"],
    "/model-versions/create",
    z.object({
      name,
      source: z.string({ error: "source is required" }),
      run_id: z.string().optional(),
      run_link: z.string().optional(),
      description: z.string().optional(),
      tags,
    }),
    async (r) => ({
      model_version: modelVersionJson(
        await svc.createModelVersion({
          name: r.name,
          source: r.source,
          runId: r.run_id || undefined,
          runLink: r.run_link,
          description: r.description,
          tags: r.tags,
        }),
      ),
    }),
  );
  route(["get"], "/model-versions/get", z.object({ name, version }), async (r) => ({
    model_version: modelVersionJson(await svc.getModelVersion(r.name, r.version)),
  }));
  route(
    ["patch"],
    "/model-versions/update",
    z.object({ name, version, description: z.string().optional() }),
    async (r) => ({
      model_version: modelVersionJson(await svc.updateModelVersion(r.name, r.version, r.description)),
    }),
  );
  route(["delete"], "/model-versions/delete", z.object({ name, version }), async (r) => {
    await svc.deleteModelVersion(r.name, r.version);
  });
  route(["get"], "/model-versions/search", search, async (r) => {
    const res = await svc.searchModelVersions(searchInput(r));
    return { model_versions: res.versions.map(modelVersionJson), next_page_token: res.nextPageToken };
  });
  route(["get"], "/model-versions/get-download-uri", z.object({ name, version }), async (r) => ({
    artifact_uri: await svc.getDownloadUri(r.name, r.version),
  }));
  route(
    ["post"],
    "/model-versions/transition-stage",
    z.object({ name, version, stage: z.string(), archive_existing_versions: bool.optional() }),
    async (r) => ({
      model_version: modelVersionJson(
        await svc.transitionStage(r.name, r.version, r.stage, r.archive_existing_versions ?? false),
      ),
    }),
  );
  route(
    ["post"],
    "/model-versions/set-tag",
    z.object({ name, version, key: z.string(), value: z.string() }),
    async (r) => {
      await svc.setVersionTag(r.name, r.version, r.key, r.value);
    },
  );
  route(["delete"], "/model-versions/delete-tag", z.object({ name, version, key: z.string() }), async (r) => {
    await svc.deleteVersionTag(r.name, r.version, r.key);
  });
}

import { mount, loggedModelRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { LoggedModelService } from "./logged-model-service";

/** MLflow 3's logged-model endpoints, mounted from the contract; handlers only call the service. */
export function mountLoggedModelRoutes(app: Hono, s: LoggedModelService): void {
  const id = (p: { model_id?: string }) => p.model_id as string;
  mount(app, r.createLoggedModel, ({ body }) => s.create(body));
  mount(app, r.searchLoggedModels, ({ body }) => s.search(body));
  mount(app, r.getLoggedModel, ({ params }) => s.get(id(params)));
  mount(app, r.finalizeLoggedModel, ({ body, params }) => s.finalize(id(params), body.status));
  mount(app, r.deleteLoggedModel, ({ params }) => s.delete(id(params)));
  mount(app, r.setLoggedModelTags, ({ body, params }) => s.setTags(id(params), body.tags));
  mount(app, r.deleteLoggedModelTag, ({ params }) => s.deleteTag(id(params), params.tag_key));
  mount(app, r.logLoggedModelParams, ({ body, params }) => s.logParams(id(params), body.params));
  mount(app, r.listLoggedModelArtifacts, ({ body, params }) =>
    s.listArtifacts(id(params), body.artifact_directory_path),
  );
  mount(app, r.getLoggedModelArtifact, async ({ body, params }) => {
    const bytes = await s.artifactBytes(id(params), body.artifact_file_path);
    return new Response(new Uint8Array(bytes), { headers: { "Content-Type": "application/octet-stream" } });
  });
  mount(app, r.logOutputs, ({ body }) => s.logOutputs(body));
}

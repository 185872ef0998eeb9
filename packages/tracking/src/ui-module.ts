import type { ArtifactProxyService } from "@keel/artifacts";
import type { Hono } from "hono";
import { mountAjaxRoutes } from "./ajax-routes";
import { buildMlflowSchema, type ModelVersionsPort } from "./graphql";
import { mountGraphqlRoutes } from "./graphql-routes";
import type { TrackingService } from "./service";

export interface MlflowUiDeps {
  tracking: TrackingService;
  artifacts: Pick<ArtifactProxyService, "upload" | "download">;
  /** The registry, as the UI endpoints read it: version search and where a version's files are. */
  modelVersions: ModelVersionsPort & { artifactPath(name: string, version: string): Promise<string> };
  now(): number;
}

/** The MLflow UI's endpoints: `/graphql` and the `/ajax-api/2.0/mlflow/...` handlers outside the proto service. */
export function createMlflowUiModule(deps: MlflowUiDeps) {
  const schema = buildMlflowSchema({ tracking: deps.tracking, modelVersions: deps.modelVersions });
  return {
    name: "mlflow-ui",
    routes(app: Hono) {
      mountAjaxRoutes(app, {
        tracking: deps.tracking,
        artifacts: deps.artifacts,
        versionArtifactPath: (n, v) => deps.modelVersions.artifactPath(n, v),
        now: deps.now,
      });
      mountGraphqlRoutes(app, schema);
    },
  };
}

import { mount, deploymentRoutes as r } from "@keel/contract";
import { errorBody } from "@keel/core";
import type { Hono } from "hono";
import { bodySizeLimit } from "../protocol/body-size-limit";
import { DEFAULT_MAX_BODY_BYTES, readJson } from "../protocol/kserve-routes";
import type { AsyncScoring } from "../scoring/async-scoring";
import type { CanaryAnalysis } from "./canary-analysis";
import type { DeploymentService } from "./deployment-service";

/** Keel's deployment API under /api/v1 (errors as `{error_code, message}` like the rest of /api). */
export function mountDeploymentRoutes(
  app: Hono,
  svc: { deployments: DeploymentService; analysis: CanaryAnalysis; scoring: AsyncScoring },
  opts: { maxBodyBytes?: number } = {},
): void {
  const maxSize = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limit = bodySizeLimit({
    maxSize,
    onError: (c) =>
      c.json(
        errorBody("PAYLOAD_TOO_LARGE", `request body is larger than the limit of ${maxSize} bytes`),
        413,
      ),
  });
  const { deployments, analysis, scoring } = svc;
  mount(app, r.list, async () => ({ deployments: await deployments.list() }));
  mount(app, r.create, ({ body }) => deployments.create(body));
  mount(app, r.get, async ({ params }) => {
    const d = await deployments.get(params.name);
    return { ...d, analysis_status: await analysis.evaluate(d) };
  });
  mount(app, r.update, ({ params, body }) => deployments.updateSettings(params.name, body));
  mount(app, r.delete, async ({ params }) => {
    await deployments.delete(params.name);
  });
  mount(app, r.shift, ({ params, body }) => deployments.shift(params.name, body));
  mount(app, r.setShadow, ({ params, body }) => deployments.setShadow(params.name, body));
  mount(app, r.clearShadow, ({ params }) => deployments.setShadow(params.name, null));
  mount(app, r.promote, ({ params, body }) => deployments.promote(params.name, body.reason));
  mount(app, r.rollback, ({ params, body }) => deployments.rollback(params.name, body.reason));
  mount(app, r.analyze, ({ params }) => analysis.run(params.name));
  mount(app, r.inferAsync, async ({ params }, c) => scoring.submit(params.name, await readJson(c)), limit);
  mount(app, r.scoringResult, ({ params }) => scoring.result(params.id));
}

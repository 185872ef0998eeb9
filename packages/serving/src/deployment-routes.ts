import { errorBody, jsonBody } from "@keel/core";
import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { AsyncScoring } from "./async-scoring";
import type { CanaryAnalysis } from "./canary-analysis";
import { createDeploymentSchema, shadowSchema, shiftSchema } from "./deployment-model";
import type { DeploymentService } from "./deployment-service";
import { DEFAULT_MAX_BODY_BYTES, readJson } from "./kserve-routes";

const rawObject = z.record(z.string(), z.unknown());
const reasonSchema = z.object({ reason: z.string().max(500).optional() });

/** Keel's deployment API under /api/v1 (errors as `{error_code, message}` like the rest of /api). */
export function mountDeploymentRoutes(
  app: Hono,
  svc: { deployments: DeploymentService; analysis: CanaryAnalysis; scoring: AsyncScoring },
  opts: { maxBodyBytes?: number } = {},
): void {
  const maxSize = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limit = bodyLimit({
    maxSize,
    onError: (c) =>
      c.json(
        errorBody("PAYLOAD_TOO_LARGE", `request body is larger than the limit of ${maxSize} bytes`),
        413,
      ),
  });
  const { deployments, analysis, scoring } = svc;
  const name = (c: { req: { param(k: string): string | undefined } }) => c.req.param("name") as string;
  app.get("/api/v1/deployments", async (c) => c.json({ deployments: await deployments.list() }));
  app.post("/api/v1/deployments", async (c) =>
    c.json(await deployments.create(await jsonBody(c, createDeploymentSchema)), 201),
  );
  app.get("/api/v1/deployments/:name", async (c) => {
    const d = await deployments.get(name(c));
    return c.json({ ...d, analysis_status: await analysis.evaluate(d) });
  });
  // The service validates the patch itself: parsing here would fill in defaults for every unnamed setting.
  app.patch("/api/v1/deployments/:name", async (c) =>
    c.json(await deployments.updateSettings(name(c), await jsonBody(c, rawObject))),
  );
  app.delete("/api/v1/deployments/:name", async (c) => {
    await deployments.delete(name(c));
    return c.json({});
  });
  app.post("/api/v1/deployments/:name/shift", async (c) =>
    c.json(await deployments.shift(name(c), await jsonBody(c, shiftSchema))),
  );
  app.put("/api/v1/deployments/:name/shadow", async (c) =>
    c.json(await deployments.setShadow(name(c), await jsonBody(c, shadowSchema))),
  );
  app.delete("/api/v1/deployments/:name/shadow", async (c) =>
    c.json(await deployments.setShadow(name(c), null)),
  );
  app.post("/api/v1/deployments/:name/promote", async (c) =>
    c.json(await deployments.promote(name(c), (await jsonBody(c, reasonSchema)).reason)),
  );
  app.post("/api/v1/deployments/:name/rollback", async (c) =>
    c.json(await deployments.rollback(name(c), (await jsonBody(c, reasonSchema)).reason)),
  );
  app.post("/api/v1/deployments/:name/analyze", async (c) => c.json(await analysis.run(name(c))));
  app.post("/api/v1/deployments/:name/infer-async", limit, async (c) =>
    c.json(await scoring.submit(name(c), await readJson(c)), 202),
  );
  app.get("/api/v1/scoring/:id", async (c) => c.json(await scoring.result(c.req.param("id"))));
}

import { jsonBody } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import type { BackendRegistry } from "./backend-registry";
import type { DeploymentService } from "./deployment-service";

const rawObject = z.record(z.string(), z.unknown());

/** `/api/v1/backends`: serving backends registered by name (writes: admin only, audited). */
export function mountBackendRoutes(
  app: Hono,
  backends: BackendRegistry,
  deployments: DeploymentService,
): void {
  const inUse = async (name: string) =>
    (await deployments.list())
      .filter((d) =>
        [d.stable, d.canary, d.shadow].some((r) => r?.backend.type === "named" && r.backend.name === name),
      )
      .map((d) => d.name);
  app.get("/api/v1/backends", async (c) => c.json({ backends: await backends.list() }));
  app.post("/api/v1/backends", async (c) => c.json(await backends.put(await jsonBody(c, rawObject)), 201));
  app.get("/api/v1/backends/:name", async (c) => c.json(await backends.get(c.req.param("name"))));
  app.put("/api/v1/backends/:name", async (c) =>
    c.json(
      await backends.put({ ...(await jsonBody(c, rawObject)), name: c.req.param("name") }, { replace: true }),
    ),
  );
  app.delete("/api/v1/backends/:name", async (c) => {
    await backends.remove(c.req.param("name"), inUse);
    return c.json({});
  });
}

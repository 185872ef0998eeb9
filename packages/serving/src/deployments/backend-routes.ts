import { contract, mount } from "@keel/contract";
import type { Hono } from "hono";
import type { BackendRegistry } from "./backend-registry";
import type { DeploymentService } from "./deployment-service";

/** `/api/v1/backends`: serving backends registered by name (writes: admin only, audited). */
export function mountBackendRoutes(
  app: Hono,
  backends: BackendRegistry,
  deployments: DeploymentService,
): void {
  const r = contract.backends;
  const inUse = async (name: string) =>
    (await deployments.list())
      .filter((d) =>
        [d.stable, d.canary, d.shadow].some((r) => r?.backend.type === "named" && r.backend.name === name),
      )
      .map((d) => d.name);
  mount(app, r.list, async () => ({ backends: await backends.list() }));
  mount(app, r.create, async ({ body }) => backends.put(body));
  mount(app, r.get, async ({ params }) => backends.get(params.name));
  mount(app, r.replace, async ({ params, body }) =>
    backends.put({ ...body, name: params.name }, { replace: true }),
  );
  mount(app, r.delete, async ({ params }) => {
    await backends.remove(params.name, inUse);
  });
}

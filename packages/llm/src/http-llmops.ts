import { mount, llmOpsRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { BodyStore } from "./body-store";
import type { UsageLog } from "./usage-log";

/** `/api/v1/llm/usage/export` (Parquet) and `/api/v1/llm/bodies/...` (stored prompts). */
export function mountLlmOpsRoutes(app: Hono, d: { usage: UsageLog; bodies: BodyStore }): void {
  mount(app, r.usageExport, async ({ query }) => {
    const { bytes, records } = await d.usage.exportParquet(query);
    return new Response(bytes, {
      headers: {
        "content-type": "application/vnd.apache.parquet",
        "content-disposition": 'attachment; filename="llm-usage.parquet"',
        "x-keel-records": String(records),
      },
    });
  });
  mount(app, r.listBodies, async ({ params, query }) => ({
    bodies: await d.bodies.list(params.team, query),
  }));
  mount(app, r.purgeBodies, async () => ({ purged: await d.bodies.purge() }));
}

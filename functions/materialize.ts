import { createPlatform } from "@keel/app";
import { loadConfig, newToken, ROLES, withContext } from "@keel/core";

/**
 * Run by the Features stack's schedule: an incremental materialization of every online
 * feature view (what `POST /api/v1/features/materialize {"incremental": true}` runs). A
 * failure throws, so the scheduler retries and finally dead-letters the event; a rerun is
 * safe because the view's watermark only moves after its rows are written.
 */
const platform = await createPlatform(loadConfig());
await platform.start();

export async function handler(): Promise<unknown> {
  return withContext(
    { principal: "keel-scheduler", requestId: newToken(), roles: ROLES, kind: "service" },
    async () => ({
      views: await platform.services.features.materialize({ incremental: true }),
    }),
  );
}

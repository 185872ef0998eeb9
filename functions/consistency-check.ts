import { createPlatform } from "@keel/app";
import { loadConfig, newToken, ROLES, withContext } from "@keel/core";
import { type ConsistencyJobResult, runConsistencyJob } from "@keel/validation";

/**
 * Run by the schedules of the stage setting `consistencyChecks` (stacks/validation.ts): one
 * training-serving skew check of the view the schedule's input names, between the offline
 * store (Athena) and the online store, recorded as a tracking run in `consistency/<view>`
 * and raising a `features.consistency.alert` audit event when over the threshold.
 */
const platform = await createPlatform(loadConfig());
await platform.start();

export async function handler(event: unknown): Promise<ConsistencyJobResult> {
  return withContext(
    { principal: "keel-scheduler", requestId: newToken(), roles: ROLES, kind: "service" },
    () =>
      runConsistencyJob(
        {
          features: platform.services.features,
          tracking: platform.services.tracking,
          artifacts: platform.deps.artifacts,
          audit: platform.deps.audit,
          now: () => platform.deps.clock.now(),
        },
        event,
      ),
  );
}

import { createTuningControllerHandler } from "@keel/app";
import { loadConfig, ROLES, withContext } from "@keel/core";
import { type ControllerEvent, tuningsIn } from "@keel/tuning";
import * as project from "@keel-project/pipelines";

/**
 * The Lambda behind the tuning state machines' controller tasks (`stacks/Tuning.ts`): suggests
 * each batch of trials, records their results, and records the best trial at the end. It keeps
 * nothing between calls (experiments and trials are in the platform table). The tuning
 * definitions are the project module's exports (bundled from the entry named at deploy).
 */
const run = createTuningControllerHandler(loadConfig(), tuningsIn(project as Record<string, unknown>));

export async function handler(event: ControllerEvent): Promise<Record<string, unknown>> {
  return withContext(
    { principal: "aws:states", requestId: "tuning-controller", roles: ROLES, kind: "service" },
    () => run(event),
  );
}

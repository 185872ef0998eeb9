import { createPlatform } from "@keel/app";
import { loadConfig, newToken, ROLES, withContext } from "@keel/core";

/**
 * Run hourly by the Llm stack's schedule: deletes stored LLM prompts and answers whose route's
 * retention ended (reads already hide them from the moment they expire).
 */
const platform = await createPlatform(loadConfig());

export async function handler(): Promise<{ purged: number }> {
  return withContext(
    { principal: "keel-scheduler", requestId: newToken(), roles: ROLES, kind: "service" },
    async () => ({ purged: await platform.services.llm.bodies.purge() }),
  );
}

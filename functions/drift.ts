import { createPlatform } from "@keel/app";
import { isKeelError, loadConfig, newToken, parseWith, ROLES, withContext } from "@keel/core";
import { type MonitoringModule, parseWindow } from "@keel/monitoring";
import { z } from "zod";

/**
 * Run by the Monitoring stack's schedule: the drift job for every deployment named in the
 * schedule's input, or for every deployment with logged predictions. A deployment without a
 * known baseline is reported as skipped; any other failure throws after the rest have run,
 * so the scheduler retries and finally dead-letters the event.
 */
const platform = await createPlatform(loadConfig());
await platform.start();

const eventSchema = z.object({ deployments: z.array(z.string()).optional(), window: z.string().optional() });

export async function handler(event: unknown): Promise<unknown> {
  const input = parseWith(
    eventSchema,
    event && typeof event === "object" ? event : {},
    "drift schedule input",
  );
  const windowMs = input.window ? parseWindow(input.window) : undefined;
  const monitoring = platform.services.monitoring;
  return withContext(
    { principal: "keel-scheduler", requestId: newToken(), roles: ROLES, kind: "service" },
    async () => {
      const results: Array<Record<string, string>> = [];
      const failures: string[] = [];
      for (const deployment of input.deployments ?? (await monitoring.deployments())) {
        try {
          const r = await monitoring.runDrift(deployment, { windowMs });
          results.push({ deployment, status: r.status, reportId: r.id });
        } catch (e) {
          if (isKeelError(e) && e.code === "RESOURCE_DOES_NOT_EXIST")
            results.push({ deployment, skipped: e.message });
          else failures.push(`${deployment}: ${(e as Error).message}`);
        }
      }
      // Each deployment's prediction-log retention (the bucket's lifecycle rule is only the upper bound).
      const module = platform.modules.find((m) => m.name === "monitoring") as MonitoringModule | undefined;
      const swept = (await module?.sweep()) ?? [];
      if (failures.length > 0)
        throw new Error(`drift job failed for ${failures.length} deployment(s): ${failures.join("; ")}`);
      return { results, retention: { partitionsDeleted: swept.length } };
    },
  );
}

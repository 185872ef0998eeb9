import { createApp, createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { findServingModule } from "@keel/serving";
import { handle } from "hono/aws-lambda";

/**
 * The inference router Lambda: only the serving module's routes (`/v2/...` through the router,
 * `/api/v1/deployments...`, `/metrics`), on the same Hono app code `keel dev` serves. Its
 * environment sets KEEL_SERVING_IN_PROCESS=false (versions run on Triton or SageMaker) and
 * KEEL_SCORING_QUEUE_URL (async scoring goes to SQS). Built once per container at cold start.
 */
const platform = await createPlatform(loadConfig());
const serving = findServingModule(platform.modules);
await serving.start();

export const handler = handle(
  createApp([serving], {
    access: platform.access,
    guards: { allowedOrigins: platform.deps.config.http.allowedOrigins },
  }),
);

import { createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { handle } from "hono/aws-lambda";
import { pipelines } from "../examples/pipelines";

/**
 * The Lambda behind both HTTP APIs' catch-all route: the same Hono app `keel dev` serves.
 * The platform (adapters, modules) is built once per container, at cold start, and reused by
 * every request that container handles. API Gateway has already authenticated the caller;
 * the app reads the JWT claims or IAM identity from the event's request context.
 */
// The project's pipelines are registered so `POST /api/v1/pipelines/{name}/runs` can start the
// state machines stacks/Pipelines.ts deployed for them.
const platform = await createPlatform(loadConfig(), { pipelines });
await platform.start();

export const handler = handle(platform.app);

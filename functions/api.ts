import { createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { handle } from "hono/aws-lambda";

/**
 * The Lambda behind both HTTP APIs' catch-all route: the same Hono app `keel dev` serves.
 * The platform (adapters, modules) is built once per container, at cold start, and reused by
 * every request that container handles. API Gateway has already authenticated the caller;
 * the app reads the JWT claims or IAM identity from the event's request context.
 */
const platform = await createPlatform(loadConfig());
await platform.start();

export const handler = handle(platform.app);

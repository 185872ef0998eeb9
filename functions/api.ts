import { createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { pipelines } from "@keel-project/pipelines";
import { handle } from "hono/aws-lambda";

/**
 * The Lambda behind both HTTP APIs' catch-all route: the same Hono app `keel dev` serves,
 * built once per container at cold start. The project's pipelines (bundled from the entry
 * named at deploy, stacks/project.ts) are registered so `POST /api/v1/pipelines/{name}/runs`
 * can start the state machines stacks/Pipelines.ts deployed for them. API Gateway has already
 * authenticated the caller; the app reads the JWT claims or IAM identity from the event.
 */
const platform = await createPlatform(loadConfig(), { pipelines });
await platform.start();

export const handler = handle(platform.app);

import { createApp, createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";
import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";

/**
 * The LLM gateway Lambda behind its function URL (stacks/Llm.ts), with response streaming so
 * tokens reach the caller as the upstream produces them. Only OpenAI's API (`/llm/v1/...`) is
 * served here: the URL has no API Gateway authorizer, and the gateway authenticates each
 * request itself (virtual keys). Routes, keys and usage are managed through the platform's
 * authenticated API (`/api/v1/llm/...` on the Api stack). Built once per container at cold start.
 */
const platform = await createPlatform(loadConfig());
const llm = platform.modules.find((m) => m.name === "llm");
if (!llm) throw new Error("the platform has no llm module");
await llm.start?.();
const app = createApp([llm], {
  access: platform.access,
  guards: { allowedOrigins: platform.deps.config.http.allowedOrigins },
  console: false,
});

const gateway = new Hono();
// The answer ends only once its usage record is written: a frozen or recycled container loses none.
gateway.all("/llm/v1/*", async (c) => platform.services.llm.settle(await app.fetch(c.req.raw, c.env)));

export const handler = streamHandle(gateway);

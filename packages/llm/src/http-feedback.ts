import { mount, llmFeedbackRoutes as r } from "@keel/contract";
import type { Context, Hono } from "hono";
import { identifyCaller } from "./caller";
import type { FeedbackStore } from "./feedback";
import type { KeyStore } from "./keys";

/** `POST /api/v1/llm/feedback` (the caller identified as on /llm/v1) and the per-variant summary. */
export function mountFeedbackRoutes(app: Hono, d: { feedback: FeedbackStore; keys: KeyStore }): void {
  mount(app, r.postFeedback, async ({ body }, c: Context) => {
    const caller = await identifyCaller(c.req.header("authorization"), d.keys);
    return { feedback: await d.feedback.put(caller, body) };
  });
  mount(app, r.variants, async ({ query }) => ({ variants: await d.feedback.variants(query) }));
}

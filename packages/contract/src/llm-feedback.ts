import { z } from "zod";
import { defineRoute } from "./route";

/**
 * Per-variant quality of the LLM gateway's weighted (A/B) routes: feedback on one answered
 * request (by the `x-keel-request-id` the gateway answered), and a summary per route and
 * deployment (variant). Feedback is accepted only from the team that made the request (its
 * virtual key, or the platform identity that called), and audited.
 */
const tags = ["LLM gateway"] as const;

export const llmFeedbackInputSchema = z.object({
  request_id: z.string().min(1).max(200),
  /** 0..1, or a thumb ("up" = 1, "down" = 0). */
  score: z.union([z.number().min(0).max(1), z.enum(["up", "down"])]),
  comment: z.string().max(2000).optional(),
});
export type LlmFeedbackInput = z.input<typeof llmFeedbackInputSchema>;

export const llmFeedbackSchema = z.object({
  requestId: z.string(),
  team: z.string(),
  principal: z.string(),
  key: z.string().optional(),
  model: z.string(),
  deployment: z.string().optional(),
  score: z.number(),
  comment: z.string().optional(),
  time: z.number(),
});
export type LlmFeedback = z.output<typeof llmFeedbackSchema>;

export const llmVariantRowSchema = z.object({
  model: z.string(),
  deployment: z.string(),
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  cost: z.number(),
  latencyP50Ms: z.number(),
  feedbackCount: z.number(),
  /** Mean feedback score (0..1); absent without feedback. */
  feedbackMean: z.number().optional(),
});
export type LlmVariantRow = z.output<typeof llmVariantRowSchema>;

export const llmFeedbackRoutes = {
  postFeedback: defineRoute({
    id: "llm.postFeedback",
    method: "POST",
    path: "/api/v1/llm/feedback",
    summary: "Feedback on one gateway answer (only the team that made the request; audited)",
    tags,
    body: llmFeedbackInputSchema,
    response: z.object({ feedback: llmFeedbackSchema }),
    status: 201,
    errors: ["INVALID_PARAMETER_VALUE", "UNAUTHENTICATED", "RESOURCE_DOES_NOT_EXIST"],
  }),
  variants: defineRoute({
    id: "llm.variants",
    method: "GET",
    path: "/api/v1/llm/usage/variants",
    summary:
      "Per route and deployment (A/B variant): requests, tokens, cost, latency p50, error rate, feedback",
    tags,
    query: z.object({
      model: z.string().optional(),
      team: z.string().optional(),
      from: z.coerce.number().int().min(0).optional(),
      to: z.coerce.number().int().min(0).optional(),
    }),
    response: z.object({ variants: z.array(llmVariantRowSchema) }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
};

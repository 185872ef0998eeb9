/**
 * Every variable a stack sets is named by `@keel/core`'s ENV (the names `loadConfig` reads);
 * tests/infra/config-vars.test.ts fails when a function's environment sets a `KEEL_*`
 * variable that loadConfig does not read.
 */
export { ENV } from "@keel/core";

/** The router publishes `InFlightRequests` (Sum over 1 minute) here, dimension `Stage`. */
export const SERVING_METRICS = { namespace: "Keel/Serving", inFlight: "InFlightRequests" } as const;

/**
 * The LLM gateway's CloudWatch metrics (embedded metric format in its logs), dimensions
 * `Stage` and `Model`; the Llm stack's dashboard graphs them next to the vLLM pool's GPUs.
 */
export const LLM_METRICS = {
  namespace: "Keel/Llm",
  tokensIn: "PromptTokens",
  tokensOut: "CompletionTokens",
  cost: "CostUsd",
  ttft: "TimeToFirstTokenMs",
  duration: "RequestDurationMs",
  tokensPerSecond: "TokensPerSecond",
  upstreamErrors: "UpstreamErrors",
  fallbacks: "Fallbacks",
  cacheHits: "CacheHits",
  requests: "Requests",
} as const;

import { z } from "zod";
import { defineRoute } from "./route";

/**
 * The LLM gateway (packages/llm).
 *
 * `/llm/v1/...` is OpenAI's API, spoken in OpenAI's own shapes so the official `openai`
 * clients work unchanged: the handlers read the body themselves (rawBody; OpenAI's request
 * fields pass through to upstreams), answer JSON or, with `stream: true`, server-sent events
 * (`text/event-stream`), and every error is OpenAI's `{"error": {message, type, param, code}}`
 * (components/schemas/OpenAIError) with 400, 401, 403, 404 `model_not_found`, 429 (rate limit
 * with Retry-After and x-ratelimit-* headers, or a spent budget), and 5xx only for upstream
 * failures after every fallback. Their permission is `public` in the table: the gateway
 * authenticates itself (virtual keys `sk-keel-...`, or the platform's tokens and users).
 *
 * `/api/v1/llm/...` manages routes, virtual keys, teams (limits, budgets) and reads usage;
 * every change is audited.
 */
const openaiTags = ["OpenAI"] as const;
const tags = ["LLM gateway"] as const;

export const PII_KINDS = ["rrn", "phone", "card", "account", "email"] as const;
export type PiiKind = (typeof PII_KINDS)[number];
export const GUARD_MODES = ["off", "log", "redact", "block"] as const;
export type GuardMode = (typeof GUARD_MODES)[number];

export const llmDeploymentSchema = z.object({
  /** Unique within the route; names the deployment in usage, metrics and the circuit breaker. */
  id: z.string().min(1).max(64),
  provider: z.enum(["openai", "bedrock", "sagemaker"]),
  /** The upstream's model name (OpenAI-compatible), Bedrock model id, or the container's model name. */
  model: z.string().min(1),
  /** OpenAI-compatible base URL including `/v1`. */
  baseURL: z.string().url().optional(),
  /** Name of the environment variable holding the upstream's API key (never the key itself). */
  apiKeyEnv: z.string().optional(),
  azureApiVersion: z.string().optional(),
  /** SageMaker endpoint (and inference component). */
  endpoint: z.string().optional(),
  inferenceComponent: z.string().optional(),
  region: z.string().optional(),
  weight: z.number().min(0).default(1),
  /** USD per 1,000 tokens. */
  price: z.object({ input: z.number().min(0), output: z.number().min(0) }).default({ input: 0, output: 0 }),
  /** Per-try timeout (to the first byte when streaming); the route's when absent. */
  timeoutMs: z.number().int().positive().optional(),
  /** The registered model version this deployment serves (e.g. a LoRA adapter); it must be approved for Production. */
  registeredModel: z.object({ name: z.string().min(1), version: z.number().int().positive() }).optional(),
});
export type LlmDeployment = z.output<typeof llmDeploymentSchema>;

export const llmGuardrailsSchema = z.object({
  input: z.enum(GUARD_MODES).default("off"),
  output: z.enum(GUARD_MODES).default("off"),
  detectors: z.array(z.enum(PII_KINDS)).default([...PII_KINDS]),
  /** Configured patterns (JavaScript regular expressions), by name. */
  patterns: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z0-9_-]+$/i),
        regex: z.string().refine((s) => {
          try {
            new RegExp(s, "g");
            return true;
          } catch {
            return false;
          }
        }, "not a valid regular expression"),
      }),
    )
    .default([]),
});
export type LlmGuardrails = z.output<typeof llmGuardrailsSchema>;

export const llmLimitsSchema = z.object({
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
});
export type LlmLimits = z.output<typeof llmLimitsSchema>;

export const llmRouteSchema = z.object({
  model: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:/-]+$/, "letters, digits and . _ : / - only"),
  deployments: z.array(llmDeploymentSchema).min(1),
  /** Other routes tried in order when every deployment failed (5xx, timeout, 429, open circuit). */
  fallbacks: z.array(z.string()).default([]),
  timeoutMs: z.number().int().positive().default(30_000),
  /** Retries of one deployment (jittered backoff), only before the first streamed byte. */
  retries: z.number().int().min(0).max(5).default(1),
  /** Prompts of at most `maxPromptTokens` tokens go to route `model` (a smaller model). */
  complexity: z.object({ maxPromptTokens: z.number().int().positive(), model: z.string() }).optional(),
  cache: z.object({ ttlSeconds: z.number().int().positive() }).optional(),
  /** Semantic cache: answers to similar conversations (cosine over the embedding route's vectors); off when absent. */
  semanticCache: z
    .object({
      /** The gateway route (model name) that embeds the conversation, called as the requesting caller. */
      embeddingModel: z.string().min(1),
      /** Cosine similarity at or above which a stored answer is served. */
      threshold: z.number().gt(0).lte(1).default(0.95),
      ttlSeconds: z.number().int().positive().default(3600),
      /** Entries kept per route (oldest evicted first). */
      maxEntries: z.number().int().positive().default(10_000),
      /** Answers may be served to other teams (default: each team sees only its own). */
      shared: z.boolean().default(false),
    })
    .optional(),
  guardrails: llmGuardrailsSchema.optional(),
  limits: llmLimitsSchema.optional(),
  /** Keep prompt and answer bodies, redacted by the route's PII detectors, for `retentionDays` (off when absent). */
  store: z.object({ prompts: z.boolean(), retentionDays: z.number().int().min(1).max(3650) }).optional(),
  /** Record each call as an MLflow trace in this experiment (by name; created when missing). */
  trace: z.object({ experiment: z.string().min(1).max(256) }).optional(),
  /** Set by the store. */
  updatedAt: z.number().optional(),
  updatedBy: z.string().optional(),
});
export type LlmRoute = z.output<typeof llmRouteSchema>;
export type LlmRouteInput = z.input<typeof llmRouteSchema>;

// ---- keys, teams, usage ----
export const keyInputSchema = z.object({
  name: z.string().min(1).max(128),
  team: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/),
  user: z.string().max(256).optional(),
  /** Models (route names, or virtual prefixes such as `rag:`) the key may use; all when absent. */
  models: z.array(z.string()).optional(),
  limits: llmLimitsSchema.optional(),
  /** Expiry in ms since the epoch (or `ttlDays`). */
  expiresAt: z.number().int().positive().optional(),
  ttlDays: z.number().positive().optional(),
});
export type KeyInput = z.input<typeof keyInputSchema>;

export const virtualKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
  user: z.string().optional(),
  models: z.array(z.string()).optional(),
  limits: llmLimitsSchema.optional(),
  expiresAt: z.number().optional(),
  revokedAt: z.number().optional(),
  createdAt: z.number(),
  createdBy: z.string(),
  /** The key's first characters (the key itself is stored only as its SHA-256). */
  hint: z.string(),
});
export type VirtualKey = z.output<typeof virtualKeySchema>;

export const teamSchema = z.object({
  limits: llmLimitsSchema.optional(),
  /** Principals who own the team: with admins, the only readers of its stored prompts. */
  owners: z.array(z.string().min(1)).optional(),
  budget: z
    .object({
      /** USD per period. */
      amount: z.number().positive(),
      period: z.enum(["day", "month"]).default("month"),
      /** Shares of the budget that raise an alert once per period (an audit event and the alert hook). */
      alerts: z.array(z.number().gt(0).lte(1)).default([0.5, 0.8, 1]),
      /** Refuse requests (429 insufficient_quota) once the budget is spent. */
      hardStop: z.boolean().default(true),
    })
    .optional(),
});
export type TeamSettings = z.output<typeof teamSchema>;

export const usageRecordSchema = z.object({
  id: z.string(),
  time: z.number(),
  team: z.string(),
  key: z.string().optional(),
  principal: z.string(),
  model: z.string(),
  deployment: z.string().optional(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  cost: z.number(),
  latencyMs: z.number(),
  ttftMs: z.number().optional(),
  cacheHit: z.boolean(),
  /** Which cache answered (with cacheHit). */
  cacheKind: z.enum(["exact", "semantic"]).optional(),
  redactions: z.record(z.string(), z.number()),
  status: z.number(),
  stream: z.boolean(),
  fallbacks: z.number(),
  tokenSource: z.enum(["usage", "tokenizer"]),
});
export type UsageRecord = z.output<typeof usageRecordSchema>;

export const usageSummaryRowSchema = z.object({
  team: z.string(),
  model: z.string(),
  requests: z.number(),
  errors: z.number(),
  cacheHits: z.number(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  cost: z.number(),
  avgLatencyMs: z.number(),
  avgTtftMs: z.number().optional(),
});
export type UsageSummaryRow = z.output<typeof usageSummaryRowSchema>;

const usageQuery = z.object({
  team: z.string().optional(),
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});
const modelParam = z.object({ model: z.string() });
const WRITE_ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "PERMISSION_DENIED"] as const;
const OPENAI_ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "RESOURCE_DOES_NOT_EXIST",
  "REQUEST_LIMIT_EXCEEDED",
  "TEMPORARILY_UNAVAILABLE",
  "DEADLINE_EXCEEDED",
] as const;
const looseObject = z.record(z.string(), z.unknown());

export const llmRoutes = {
  chatCompletions: defineRoute({
    id: "llm.chatCompletions",
    method: "POST",
    path: "/llm/v1/chat/completions",
    summary: "OpenAI chat completions (JSON, or server-sent events with stream: true)",
    tags: openaiTags,
    body: z.looseObject({
      model: z.string(),
      messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })),
      stream: z.boolean().optional(),
      stream_options: z.object({ include_usage: z.boolean().optional() }).optional(),
    }),
    rawBody: true,
    response: looseObject.describe(
      "an OpenAI chat.completion, or chat.completion.chunk events when streaming",
    ),
    errors: OPENAI_ERRORS,
  }),
  embeddings: defineRoute({
    id: "llm.embeddings",
    method: "POST",
    path: "/llm/v1/embeddings",
    summary: "OpenAI embeddings",
    tags: openaiTags,
    body: z.looseObject({ model: z.string(), input: z.unknown() }),
    rawBody: true,
    response: looseObject.describe("an OpenAI embeddings list"),
    errors: OPENAI_ERRORS,
  }),
  models: defineRoute({
    id: "llm.models",
    method: "GET",
    path: "/llm/v1/models",
    summary: "OpenAI model list: every route and virtual model the caller may use",
    tags: openaiTags,
    response: z.object({
      object: z.literal("list"),
      data: z.array(
        z.object({ id: z.string(), object: z.literal("model"), created: z.number(), owned_by: z.string() }),
      ),
    }),
    errors: ["UNAUTHENTICATED"],
  }),
  listRoutes: defineRoute({
    id: "llm.listRoutes",
    method: "GET",
    path: "/api/v1/llm/routes",
    summary: "Every gateway route (from the API and from configuration)",
    tags,
    response: z.object({ routes: z.array(llmRouteSchema.extend({ source: z.enum(["api", "config"]) })) }),
    errors: [],
  }),
  getRoute: defineRoute({
    id: "llm.getRoute",
    method: "GET",
    path: "/api/v1/llm/routes/:model",
    summary: "One gateway route",
    tags,
    params: modelParam,
    response: llmRouteSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  putRoute: defineRoute({
    id: "llm.putRoute",
    method: "PUT",
    path: "/api/v1/llm/routes/:model",
    summary: "Create or replace a gateway route (admin; audited)",
    tags,
    params: modelParam,
    body: looseObject.describe("a route without its model name: {deployments, fallbacks, timeoutMs, ...}"),
    response: llmRouteSchema,
    errors: WRITE_ERRORS,
  }),
  deleteRoute: defineRoute({
    id: "llm.deleteRoute",
    method: "DELETE",
    path: "/api/v1/llm/routes/:model",
    summary: "Delete a gateway route (admin; audited)",
    tags,
    params: modelParam,
    response: z.object({}),
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  listKeys: defineRoute({
    id: "llm.listKeys",
    method: "GET",
    path: "/api/v1/llm/keys",
    summary: "Virtual keys (never the secrets)",
    tags,
    query: z.object({ team: z.string().optional() }),
    response: z.object({ keys: z.array(virtualKeySchema) }),
    errors: [],
  }),
  createKey: defineRoute({
    id: "llm.createKey",
    method: "POST",
    path: "/api/v1/llm/keys",
    summary: "Create a virtual key (admin; audited): the secret is in this answer only",
    tags,
    body: looseObject.describe("{name, team, user?, models?, limits?: {rpm, tpm}, expiresAt? | ttlDays?}"),
    response: z.object({ key: z.string(), record: virtualKeySchema }),
    status: 201,
    errors: WRITE_ERRORS,
  }),
  revokeKey: defineRoute({
    id: "llm.revokeKey",
    method: "POST",
    path: "/api/v1/llm/keys/:id/revoke",
    summary: "Revoke a virtual key (admin; audited)",
    tags,
    params: z.object({ id: z.string() }),
    response: virtualKeySchema,
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  listTeams: defineRoute({
    id: "llm.listTeams",
    method: "GET",
    path: "/api/v1/llm/teams",
    summary: "Teams' limits, budgets and spend this period",
    tags,
    response: z.object({
      teams: z.array(z.object({ team: z.string(), settings: teamSchema, spent: z.number().optional() })),
    }),
    errors: [],
  }),
  putTeam: defineRoute({
    id: "llm.putTeam",
    method: "PUT",
    path: "/api/v1/llm/teams/:team",
    summary: "Set a team's rate limits and budget (admin; audited)",
    tags,
    params: z.object({ team: z.string() }),
    body: looseObject.describe("{limits?: {rpm, tpm}, budget?: {amount, period, alerts, hardStop}}"),
    response: teamSchema,
    errors: WRITE_ERRORS,
  }),
  usage: defineRoute({
    id: "llm.usage",
    method: "GET",
    path: "/api/v1/llm/usage",
    summary: "The usage log, newest first (key, team, model, tokens, cost, latency, TTFT, cache, redactions)",
    tags,
    query: usageQuery,
    response: z.object({ usage: z.array(usageRecordSchema) }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  usageSummary: defineRoute({
    id: "llm.usageSummary",
    method: "GET",
    path: "/api/v1/llm/usage/summary",
    summary: "Usage and cost per team and model",
    tags,
    query: usageQuery,
    response: z.object({ summary: z.array(usageSummaryRowSchema) }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
};

import { z } from "zod";
import { defineRoute } from "./route";

/**
 * The LLM gateway's operations data (packages/llm): the usage log as Parquet for analysis,
 * and prompt/answer bodies that routes with `store.prompts` keep (redacted, with retention;
 * readable only by the team's owners and admins, every read audited).
 */
const tags = ["LLM gateway"] as const;

export const storedBodySchema = z.object({
  id: z.string(),
  time: z.number(),
  team: z.string(),
  principal: z.string(),
  key: z.string().optional(),
  model: z.string(),
  status: z.number(),
  request: z.unknown().describe("the request's messages (or embedding input), PII redacted"),
  response: z.string().optional().describe("the answer's text, PII redacted"),
  expiresAt: z.number(),
});

const range = {
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
};

export const llmOpsRoutes = {
  usageExport: defineRoute({
    id: "llm.usageExport",
    method: "GET",
    path: "/api/v1/llm/usage/export",
    summary: "The usage log of a time range as one Parquet file (no prompt text)",
    tags,
    query: z.object({ team: z.string().optional(), ...range }),
    response: z.string(),
    responseType: "application/vnd.apache.parquet",
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  listBodies: defineRoute({
    id: "llm.listBodies",
    method: "GET",
    path: "/api/v1/llm/bodies/:team",
    summary: "A team's stored prompts and answers, redacted (team owners and admins; audited)",
    tags,
    params: z.object({ team: z.string() }),
    query: z.object({ ...range, limit: z.coerce.number().int().min(1).max(1000).optional() }),
    response: z.object({ bodies: z.array(storedBodySchema) }),
    errors: ["PERMISSION_DENIED"],
  }),
  purgeBodies: defineRoute({
    id: "llm.purgeBodies",
    method: "POST",
    path: "/api/v1/llm/bodies/purge",
    summary: "Delete stored bodies whose retention ended (admin; also runs on a timer and a schedule)",
    tags,
    response: z.object({ purged: z.number() }),
    errors: ["PERMISSION_DENIED"],
  }),
};

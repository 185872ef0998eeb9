import { z } from "zod";
import { defineRoute } from "./route";

/** `/api/v1/audit`: read-only access to the hash-chained audit trail. */
const tags = ["Audit"] as const;

/** A time bound as milliseconds since the epoch or an ISO-8601 date-time. */
const instant = z.string().transform((s, ctx) => {
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) {
    ctx.addIssue({ code: "custom", message: `'${s}' is neither epoch milliseconds nor an ISO-8601 time` });
    return z.NEVER;
  }
  return t;
});

export const auditEventSchema = z.object({
  seq: z.number(),
  time: z.number(),
  time_iso: z.string(),
  principal: z.string(),
  action: z.string(),
  resource: z.string(),
  state_digest: z.string(),
  state: z.unknown().optional(),
  request_id: z.string().optional(),
  prev_hash: z.string(),
  hash: z.string(),
});
export type AuditEventJson = z.infer<typeof auditEventSchema>;

export const auditRoutes = {
  list: defineRoute({
    id: "audit.list",
    method: "GET",
    path: "/api/v1/audit",
    summary: "Audit events, filtered by resource, principal, action and time",
    tags,
    query: z.object({
      resource: z.string().min(1).optional(),
      resource_prefix: z.string().min(1).optional(),
      principal: z.string().min(1).optional(),
      action: z.string().min(1).optional(),
      from: instant.optional(),
      to: instant.optional(),
      max_results: z.coerce.number().int().min(1).max(1000).optional(),
      page_token: z.string().min(1).optional(),
    }),
    queryLabel: "audit query",
    response: z.object({ events: z.array(auditEventSchema), next_page_token: z.string().optional() }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  verify: defineRoute({
    id: "audit.verify",
    method: "GET",
    path: "/api/v1/audit/verify",
    summary: "Verify the hash chain end to end",
    tags,
    response: z.looseObject({ ok: z.boolean() }),
    errors: [],
  }),
};

import { parseWith, queryObject } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import type { AuditEvent, AuditLog } from "./port";

export interface AuditModuleDeps {
  audit: AuditLog;
}

/** A time bound as milliseconds since the epoch or an ISO-8601 date-time. */
const instant = z.string().transform((s, ctx) => {
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) {
    ctx.addIssue({ code: "custom", message: `'${s}' is neither epoch milliseconds nor an ISO-8601 time` });
    return z.NEVER;
  }
  return t;
});

const listQuery = z.object({
  resource: z.string().min(1).optional(),
  resource_prefix: z.string().min(1).optional(),
  principal: z.string().min(1).optional(),
  action: z.string().min(1).optional(),
  from: instant.optional(),
  to: instant.optional(),
  max_results: z.coerce.number().int().min(1).max(1000).optional(),
  page_token: z.string().min(1).optional(),
});

/** Events as the API returns them: snake_case, times as ISO strings beside the raw number. */
export function eventJson(e: AuditEvent) {
  return {
    seq: e.seq,
    time: e.time,
    time_iso: new Date(e.time).toISOString(),
    principal: e.principal,
    action: e.action,
    resource: e.resource,
    state_digest: e.stateDigest,
    state: e.state,
    request_id: e.requestId,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/**
 * `/api/v1/audit`: read-only access to the trail. There is deliberately no route that
 * writes, edits or deletes events; appends happen inside the services that change state.
 */
export function createAuditModule(deps: AuditModuleDeps) {
  return {
    name: "audit",
    routes(app: Hono) {
      app.get("/api/v1/audit", async (c) => {
        const q = parseWith(listQuery, queryObject(c), "audit query");
        const page = await deps.audit.list({
          resource: q.resource,
          resourcePrefix: q.resource_prefix,
          principal: q.principal,
          action: q.action,
          from: q.from,
          to: q.to,
          limit: q.max_results,
          pageToken: q.page_token,
        });
        return c.json({ events: page.events.map(eventJson), next_page_token: page.nextPageToken });
      });
      app.get("/api/v1/audit/verify", async (c) => c.json(await deps.audit.verify()));
    },
  };
}

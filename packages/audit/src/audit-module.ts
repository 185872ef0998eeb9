import { mount, auditRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { type AuditedState, verifyWithState } from "./audit-first";
import type { AuditEvent, AuditLog } from "./port";

export interface AuditModuleDeps {
  audit: AuditLog;
  /** The areas' protected state: verification fails for an item whose change has no event. */
  state?: AuditedState[];
}

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
      mount(app, r.list, async ({ query: q }) => {
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
        return { events: page.events.map(eventJson), next_page_token: page.nextPageToken };
      });
      mount(app, r.verify, async () =>
        verifyWithState(
          await deps.audit.verify(),
          (seqs) => deps.audit.at(seqs),
          deps.state ?? [],
          deps.audit,
        ),
      );
    },
  };
}

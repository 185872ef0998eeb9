import { mount, pipelineEventRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { runEvents, sseResponse } from "./run-events";
import type { PipelineService } from "./service";

/** GET /api/v1/pipelines/runs/:id/events: the run's live status as server-sent events. */
export function pipelineEventRoutes(app: Hono, service: PipelineService): void {
  mount(app, r.runEvents, ({ params, query }, c) => {
    const signal = c.req.raw.signal;
    const events = runEvents((id) => service.getRun(id), params.id, {
      maxMs: query.max_seconds * 1000,
      heartbeatMs: query.heartbeat_seconds * 1000,
      closed: () => signal.aborted,
    });
    return sseResponse(events, signal);
  });
}

import { z } from "zod";
import { pipelineRunSchema, stepRecordSchema } from "./pipelines";
import { defineRoute } from "./route";

/**
 * One server-sent event of a pipeline run's live status (`event:` is the type, `data:` this JSON):
 * `snapshot` first (the run and all its steps), then `step` for each step whose record changed,
 * `run` when the run's status changed, `heartbeat` while nothing did, and `end` last (the run's
 * final state, or `reason: "limit"` when the connection's time ran out: connect again).
 */
export const pipelineRunEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("snapshot"), run: pipelineRunSchema, steps: z.array(stepRecordSchema) }),
  z.object({ type: z.literal("step"), step: stepRecordSchema }),
  z.object({ type: z.literal("run"), run: pipelineRunSchema }),
  z.object({ type: z.literal("heartbeat"), time: z.number() }),
  z.object({ type: z.literal("end"), reason: z.enum(["final", "limit"]), status: z.string() }),
]);
export type PipelineRunEvent = z.infer<typeof pipelineRunEventSchema>;

export const pipelineEventRoutes = {
  runEvents: defineRoute({
    id: "pipelines.runEvents",
    method: "GET",
    path: "/api/v1/pipelines/runs/:id/events",
    summary: "A run's live status as server-sent events (snapshot, step, run, heartbeat, end)",
    tags: ["Pipelines"],
    params: z.object({ id: z.string() }),
    query: z.object({
      /** How long this connection may stay open; the stream ends with `end` (`limit`) then. */
      max_seconds: z.coerce.number().int().min(1).max(300).default(60),
      /** Seconds between heartbeats while nothing changes. */
      heartbeat_seconds: z.coerce.number().int().min(1).max(60).default(15),
    }),
    response: pipelineRunEventSchema,
    responseType: "text/event-stream",
    errors: ["RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"],
  }),
};

import { mount, traceRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { TRACE_DATA_FILE } from "./trace-json";
import type { TraceService } from "./trace-service";

/** MLflow Tracing's REST endpoints (2.0 and 3.0), mounted from the contract; handlers only call the service. */
export function mountTraceRoutes(app: Hono, s: TraceService): void {
  const v2Id = (p: { request_id?: string }) => p.request_id as string;
  const v3Id = (p: { trace_id?: string }) => p.trace_id as string;
  mount(app, r.startTrace, ({ body }) => s.startTrace(body));
  mount(app, r.endTrace, ({ body, params }) => s.endTrace({ ...body, request_id: v2Id(params) }));
  mount(app, r.getTraceInfo, ({ params }) => s.getTraceInfo(v2Id(params)));
  mount(app, r.searchTraces, ({ body }) => s.searchTraces(body));
  mount(app, r.deleteTraces, ({ body }) => s.deleteTraces(body));
  mount(app, r.setTraceTag, ({ body, params }) => s.setTraceTag(v2Id(params), body));
  mount(app, r.deleteTraceTag, ({ body, params }) => s.deleteTraceTag(v2Id(params), body));
  mount(app, r.linkTracesToRun, ({ body }) => s.linkTracesToRun(body));
  mount(app, r.startTraceV3, ({ body }) => s.startTraceV3(body));
  mount(app, r.getTraceInfoV3, ({ params }) => s.getTraceInfoV3(v3Id(params)));
  mount(app, r.searchTracesV3, ({ body }) => s.searchTracesV3(body));
  mount(app, r.deleteTracesV3, ({ body }) => s.deleteTraces(body));
  mount(app, r.setTraceTagV3, ({ body, params }) => s.setTraceTag(v3Id(params), body));
  mount(app, r.deleteTraceTagV3, ({ body, params }) => s.deleteTraceTag(v3Id(params), body));
  const a = s.assessments;
  const aId = (p: { assessment_id?: string }) => p.assessment_id as string;
  mount(app, r.createAssessment, ({ body, params }) => a.create(v3Id(params), body.assessment));
  mount(app, r.getAssessment, ({ params }) => a.get(v3Id(params), aId(params)));
  mount(app, r.updateAssessment, ({ body, params }) => a.update(v3Id(params), aId(params), body));
  mount(app, r.deleteAssessment, ({ params }) => a.delete(v3Id(params), aId(params)));
  mount(app, r.calculateFilterCorrelation, ({ body }) => s.calculateFilterCorrelation(body));
  mount(app, r.getTraceArtifact, async ({ body }) => {
    const bytes = await s.traceData(body.request_id);
    return new Response(new Uint8Array(bytes), {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": `attachment; filename=${TRACE_DATA_FILE}`,
      },
    });
  });
}

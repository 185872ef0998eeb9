import { newToken, ROLES, withContext } from "@keel/core";
import type { GatewayTracer } from "@keel/llm";
import type { TrackingService } from "@keel/tracking";

/**
 * The gateway's traces through the TrackingService's TraceRecorder: a route's `trace.experiment`
 * names the experiment (created on first use). Recorded as the gateway itself, not as the
 * caller: a virtual key holds no platform role, and the route's admin chose the experiment.
 */
export function gatewayTracer(tracking: TrackingService): GatewayTracer {
  const ids = new Map<string, Promise<string>>();
  const experimentId = (name: string) => {
    let id = ids.get(name);
    if (!id) {
      id = tracking
        .getExperimentByName(name)
        .then(
          (r) => r.experiment.experiment_id,
          async () => (await tracking.createExperiment({ name })).experiment_id,
        )
        .catch((e) => {
          ids.delete(name);
          throw e;
        });
      ids.set(name, id);
    }
    return id;
  };
  return {
    record: (t) =>
      withContext(
        { principal: "keel-llm-gateway", requestId: newToken(), roles: ROLES, kind: "service" },
        async () =>
          tracking.traceRecorder.record({
            experimentId: await experimentId(t.experiment),
            name: t.name,
            startTimeMs: Math.round(t.startTimeMs),
            endTimeMs: Math.round(t.endTimeMs),
            inputs: t.inputs,
            outputs: t.outputs,
            error: t.error,
            spanType: "CHAT_MODEL",
            usage: t.usage,
            costUsd: t.costUsd,
            metadata: t.metadata,
            tags: t.tags,
          }),
      ),
  };
}

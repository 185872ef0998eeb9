import type { ExperimentRecord } from "./experiment-store";
import { jsonValue } from "./metric-values";
import type { RunRecord } from "./run-store";
import type { Experiment, Metric, Run, RunInfo } from "./schemas";

/**
 * Stored records -> MLflow's JSON entities, as protobuf JSON writes them: snake_case, empty
 * repeated fields and unset optionals omitted, int64 as numbers (the client accepts both).
 */
const pairs = (m: Record<string, string>) =>
  Object.keys(m)
    .sort()
    .map((key) => ({ key, value: m[key] }));

const nonEmpty = <T>(xs: T[]) => (xs.length ? xs : undefined);

export function experimentJson(e: ExperimentRecord): Experiment {
  return {
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: nonEmpty(pairs(e.tags)),
  };
}

export function runInfoJson(r: RunRecord): RunInfo {
  return {
    run_id: r.runId,
    run_uuid: r.runId,
    run_name: r.runName,
    experiment_id: r.experimentId,
    user_id: r.userId,
    status: r.status,
    start_time: r.startTime,
    end_time: r.endTime,
    artifact_uri: r.artifactUri,
    lifecycle_stage: r.lifecycleStage,
  };
}

export function runJson(r: RunRecord): Run {
  const metrics: Metric[] = Object.keys(r.metrics)
    .sort()
    .map((key) => {
      const m = r.metrics[key];
      return { key, value: jsonValue(m.v), timestamp: m.t, step: m.s };
    });
  const inputs = Object.values(r.inputs)
    .sort((a, b) => a.seq - b.seq)
    .map((i) => ({ tags: i.tags?.length ? i.tags : undefined, dataset: i.dataset }));
  return {
    info: runInfoJson(r),
    data: { metrics: nonEmpty(metrics), params: nonEmpty(pairs(r.params)), tags: nonEmpty(pairs(r.tags)) },
    inputs: {
      dataset_inputs: nonEmpty(inputs),
      ...(r.modelInputs?.length && { model_inputs: r.modelInputs.map((model_id) => ({ model_id })) }),
    },
    ...(r.outputs && {
      outputs: { model_outputs: Object.entries(r.outputs).map(([model_id, step]) => ({ model_id, step })) },
    }),
  };
}

import type { startTestPlatform } from "../helpers/platform";

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

const MLFLOW = "/api/2.0/mlflow";

/** Calls an MLflow endpoint as `principal` and fails the test on an unexpected status. */
export function mlflowClient(p: TestPlatform) {
  const call = async (method: string, path: string, body?: unknown, principal = "alice") =>
    p.call(method, `${MLFLOW}${path}`, body, { "x-keel-principal": principal });
  const ok = async (method: string, path: string, body?: unknown, principal = "alice") => {
    const r = await call(method, path, body, principal);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
    return r.json;
  };
  return { call, ok };
}

/** Creates an experiment and a finished run with metrics, params, a pipeline tag and a dataset input. */
export async function createRun(
  p: TestPlatform,
  opts: { metrics?: Record<string, number>; params?: Record<string, string>; pipelineRunId?: string } = {},
) {
  const { ok } = mlflowClient(p);
  const exp = await ok("POST", "/experiments/create", { name: `exp-${Math.random().toString(36).slice(2)}` });
  const { run } = await ok("POST", "/runs/create", {
    experiment_id: exp.experiment_id,
    start_time: Date.now(),
  });
  const runId: string = run.info.run_id;
  const now = Date.now();
  await ok("POST", "/runs/log-batch", {
    run_id: runId,
    metrics: Object.entries(opts.metrics ?? {}).map(([key, value]) => ({
      key,
      value,
      timestamp: now,
      step: 0,
    })),
    params: Object.entries(opts.params ?? {}).map(([key, value]) => ({ key, value })),
    tags: [
      ...(opts.pipelineRunId ? [{ key: "keel.pipeline.runId", value: opts.pipelineRunId }] : []),
      { key: "keel.feature_views", value: "customer_stats:3" },
    ],
  });
  await ok("POST", "/runs/log-inputs", {
    run_id: runId,
    datasets: [
      {
        dataset: {
          name: "transactions-2026-10",
          digest: "d41d8cd9",
          source_type: "local",
          source: '{"uri": "s3://data/transactions/2026-10.parquet"}',
        },
        tags: [
          { key: "mlflow.data.context", value: "training" },
          { key: "keel.feature_views", value: "merchant_risk:7" },
        ],
      },
    ],
  });
  return { runId, experimentId: String(exp.experiment_id), artifactUri: String(run.info.artifact_uri) };
}

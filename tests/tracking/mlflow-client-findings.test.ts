import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * Behaviours found by running the official MLflow 2.17 Python client against Keel, kept as
 * regressions: extreme metric values, NaN ordering, and MLflow's alternate attribute spellings.
 */
describe("MLflow client findings", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  let runId: string;
  beforeAll(async () => {
    p = await startTestPlatform();
    const exp = await p.call("POST", "/api/2.0/mlflow/experiments/create", { name: "findings" });
    const run = await p.call("POST", "/api/2.0/mlflow/runs/create", {
      experiment_id: exp.json.experiment_id,
      run_name: "extreme",
    });
    runId = run.json.run.info.run_id;
  });
  afterAll(() => p.close());

  it("stores and returns metric values of any double magnitude, and leaves no history behind on errors", async () => {
    const values = [1e16, -1e20, 1.5e300, 1e-131, -5e-324, 9007199254740994, 0.1];
    for (const [i, value] of values.entries()) {
      const r = await p.call("POST", "/api/2.0/mlflow/runs/log-metric", {
        run_id: runId,
        key: "loss",
        value,
        timestamp: 1_000 + i,
        step: i,
      });
      expect(r.status).toBe(200);
    }
    const batch = await p.call("POST", "/api/2.0/mlflow/runs/log-batch", {
      run_id: runId,
      metrics: [{ key: "big", value: 1e200, timestamp: 5, step: 0 }],
    });
    expect(batch.status).toBe(200);
    const hist = await p.call("GET", `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=loss`);
    expect(hist.json.metrics.map((m: { value: number }) => m.value)).toEqual(values);
    const run = await p.call("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
    const latest = Object.fromEntries(
      run.json.run.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value]),
    );
    expect(latest).toEqual({ loss: 0.1, big: 1e200 });
  });

  it("orders NaN after every number in both directions, as MLflow does", async () => {
    const exp = await p.call("POST", "/api/2.0/mlflow/experiments/create", { name: "nan-order" });
    const ids: Record<string, string> = {};
    for (const [name, value] of [
      ["one", 1],
      ["nan", "NaN"],
      ["three", 3],
    ] as const) {
      const r = await p.call("POST", "/api/2.0/mlflow/runs/create", {
        experiment_id: exp.json.experiment_id,
        run_name: name,
      });
      ids[name] = r.json.run.info.run_id;
      await p.call("POST", "/api/2.0/mlflow/runs/log-metric", {
        run_id: ids[name],
        key: "x",
        value,
        timestamp: 1,
        step: 0,
      });
    }
    for (const [dir, expected] of [
      ["DESC", ["three", "one", "nan"]],
      ["ASC", ["one", "three", "nan"]],
    ] as const) {
      const r = await p.call("POST", "/api/2.0/mlflow/runs/search", {
        experiment_ids: [exp.json.experiment_id],
        order_by: [`metrics.x ${dir}`],
      });
      expect(r.json.runs.map((x: { info: { run_name: string } }) => x.info.run_name)).toEqual(expected);
    }
    const byAlias = await p.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [exp.json.experiment_id],
      filter: "attributes.`run name` = 'nan'",
    });
    expect(byAlias.status).toBe(200);
    expect(byAlias.json.runs.map((x: { info: { run_id: string } }) => x.info.run_id)).toEqual([ids.nan]);
  });
});

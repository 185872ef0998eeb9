import { internalCallHeaders } from "@keel/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * A flood against the real platform over HTTP, with admission's ceiling set low so that the
 * flood is certainly above it: the excess is refused with 503, `Retry-After` and an error body,
 * admitted requests all succeed (and what they wrote is there), and health, metrics and the
 * platform's own calls (the quickstart's and pipeline steps' token) pass through the flood.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let runId: string;

beforeAll(async () => {
  p = await startTestPlatform({ config: { http: { maxInFlight: 4 } } });
  const exp = await p.call("POST", "/api/2.0/mlflow/experiments/create", { name: "flood" });
  const run = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.json.experiment_id });
  runId = run.json.run.info.run_id;
});
afterAll(async () => {
  await p?.close();
});

describe("admission under a flood", () => {
  it("refuses the excess with 503 + Retry-After, serves every admitted request, and never sheds health or internal calls", async () => {
    const FLOOD = 200;
    const logMetric = (i: number, headers: Record<string, string> = {}) =>
      p.call(
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        {
          run_id: runId,
          key: headers["x-keel-internal-call"] ? "internal" : "loss",
          value: i,
          timestamp: 1_700_000_000_000 + i,
          step: i,
        },
        headers,
      );
    expect(internalCallHeaders()).toHaveProperty("x-keel-internal-call");
    const [flood, health, metrics, internal] = await Promise.all([
      Promise.all(Array.from({ length: FLOOD }, (_, i) => logMetric(i))),
      Promise.all(Array.from({ length: 10 }, () => p.call("GET", "/health"))),
      Promise.all(Array.from({ length: 5 }, () => p.call("GET", "/metrics"))),
      Promise.all(Array.from({ length: 20 }, (_, i) => logMetric(i, internalCallHeaders()))),
    ]);

    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    const refused = flood.filter((r) => r.status === 503);
    const admitted = flood.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(admitted.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.headers.get("retry-after")).toBe("1");
      expect(r.json).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE" });
      expect(r.json.message).toMatch(/retry later/);
    }
    expect(health.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(metrics.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(internal.map((r) => r.status)).toEqual(Array(20).fill(200));

    // What was admitted was done: one history point per admitted call, none for a refused one.
    const history = await p.call(
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=loss`,
    );
    expect(history.json.metrics).toHaveLength(admitted.length);
    const internalHistory = await p.call(
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=internal`,
    );
    expect(internalHistory.json.metrics).toHaveLength(20);

    // Once the flood is over, places are free again.
    expect((await logMetric(FLOOD)).status).toBe(200);
  });
});

import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

let p: Awaited<ReturnType<typeof startTestPlatform>>;
beforeAll(async () => {
  // Registered in process at start, as `keel dev --pipelines <file>` does: never over HTTP.
  p = await startTestPlatform({ pipelineFiles: [resolve("examples/pipelines/training.ts")] });
});
afterAll(async () => p?.close());

async function untilDone(runId: string) {
  for (let i = 0; i < 400; i++) {
    const r = await p.call("GET", `/api/v1/pipelines/runs/${runId}`);
    if (r.json.run.status !== "RUNNING") return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

describe("pipelines over HTTP on the local platform", () => {
  let runId: string;

  it("lists the pipelines registered at start, and registers none by a path sent over HTTP", async () => {
    const list = await p.call("GET", "/api/v1/pipelines");
    expect(list.json.pipelines.map((x: { name: string }) => x.name)).toEqual(["train-fraud"]);
    const byPath = await p.call("POST", "/api/v1/pipelines", {
      file: resolve("examples/pipelines/index.ts"),
    });
    expect(byPath.status).toBe(404);
    expect((await p.call("GET", "/api/v1/pipelines")).json.pipelines).toHaveLength(1);
  });

  it("serves the compiled ASL", async () => {
    const r = await p.call("GET", "/api/v1/pipelines/train-fraud/definition");
    expect(r.status).toBe(200);
    expect(r.json.StartAt).toBe("keel.validate");
  });

  it("rejects bad triggers with the right 4xx and a message naming the problem", async () => {
    const params = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", { params: { rows: "many" } });
    expect(params.status).toBe(400);
    expect(params.json).toMatchObject({
      error_code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("params.rows"),
    });
    const unknownField = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", { parms: {} });
    expect(unknownField.status).toBe(400);
    const missing = await p.call("POST", "/api/v1/pipelines/nope/runs", {});
    expect(missing.status).toBe(404);
    expect((await p.call("GET", "/api/v1/pipelines/runs/none")).status).toBe(404);
    const runs = await p.call("GET", "/api/v1/pipelines/runs?pipeline=train-fraud");
    expect(runs.json.runs).toEqual([]);
  });

  it("starts a run, records it, and mirrors it into MLflow tracking as nested runs", async () => {
    const r = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", { params: { rows: 40 } });
    expect(r.status).toBe(201);
    runId = r.json.run.runId;
    const done = await untilDone(runId);
    expect(done.run.status).toBe("SUCCEEDED");
    expect(done.steps.find((s: { step: string }) => s.step === "register").status).toBe("SUCCEEDED");

    const exp = await p.call(
      "GET",
      `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent("pipeline/train-fraud")}`,
    );
    expect(exp.status).toBe(200);
    const search = await p.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [exp.json.experiment.experiment_id],
      filter: `tags.mlflow.parentRunId = '${done.run.trackingRunId}'`,
      max_results: 100,
    });
    const names = search.json.runs.map((x: { info: { run_name: string } }) => x.info.run_name).sort();
    expect(names).toContain("train");
    expect(names).toContain("tune[2]");
    const evaluate = search.json.runs.find(
      (x: { info: { run_name: string } }) => x.info.run_name === "evaluate",
    );
    expect(evaluate.info.status).toBe("FINISHED");
    expect(evaluate.data.metrics.find((m: { key: string }) => m.key === "auc").value).toBe(0.95);

    const listed = await p.call("GET", "/api/v1/pipelines/runs?pipeline=train-fraud");
    expect(listed.json.runs.map((x: { runId: string }) => x.runId)).toEqual([runId]);
    expect(listed.json.runs[0]).toMatchObject({
      status: "SUCCEEDED",
      trigger: "api",
      principal: "local-user",
    });
  });

  it("makes a start idempotent with a client-chosen run id", async () => {
    const body = { params: { rows: 40 }, runId: "nightly-2024-03-01" };
    const first = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", body);
    const again = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", body);
    expect(first.status).toBe(201);
    expect(again.json.run.runId).toBe("nightly-2024-03-01");
    expect(again.json.run.startTime).toBe(first.json.run.startTime);
    const clash = await p.call("POST", "/api/v1/pipelines/train-fraud/runs", {
      ...body,
      params: { rows: 41 },
    });
    expect(clash.status).toBe(409);
    expect((await untilDone("nightly-2024-03-01")).run.status).toBe("SUCCEEDED");
  });

  it("backfills one run per day with the date as ds, a few at a time", async () => {
    const r = await p.call("POST", "/api/v1/pipelines/train-fraud/backfill", {
      from: "2024-02-28",
      to: "2024-03-01",
      concurrency: 2,
      params: { rows: 20 },
    });
    expect(r.status).toBe(202);
    expect(r.json.intervals).toEqual(["2024-02-28", "2024-02-29", "2024-03-01"]);
    let runs: Array<{ status: string; trigger: string; params: { ds?: string } }> = [];
    for (let i = 0; i < 600; i++) {
      runs = (await p.call("GET", "/api/v1/pipelines/runs?pipeline=train-fraud&limit=50")).json.runs.filter(
        (x: { trigger: string }) => x.trigger === "backfill",
      );
      if (runs.length === 3 && runs.every((x) => x.status !== "RUNNING")) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(runs.map((x) => x.params.ds).sort()).toEqual(r.json.intervals);
    expect(runs.every((x) => x.status === "SUCCEEDED")).toBe(true);
    const bad = await p.call("POST", "/api/v1/pipelines/train-fraud/backfill", {
      from: "2024-03-02",
      to: "2024-03-01",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("before from");
  });

  it("stops a finished run without changing it, and refuses to resume a run that succeeded", async () => {
    const stop = await p.call("POST", `/api/v1/pipelines/runs/${runId}/stop`);
    expect(stop.json.run.status).toBe("SUCCEEDED");
    const resume = await p.call("POST", `/api/v1/pipelines/runs/${runId}/resume`);
    expect(resume.status).toBe(400);
    expect(resume.json.error_code).toBe("INVALID_STATE");
  });
});

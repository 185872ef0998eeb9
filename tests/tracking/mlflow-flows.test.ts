import { beforeAll, describe, expect, it } from "vitest";
import { platformForFile } from "../helpers/platform";

/**
 * The request sequences the official MLflow 2.x Python client sends (MlflowClient and the
 * fluent API, through mlflow/store/tracking/rest_store.py), replayed over real HTTP with the
 * exact shapes it uses: GET with query strings for reads, POST JSON for writes, `run_uuid`
 * next to `run_id`, int64 fields as numbers, enums by name.
 */
const API = "/api/2.0/mlflow";

const p = platformForFile({ defaultPrincipal: "alice" }, `${API}/`);
const { ok } = p;

describe("fluent API: set_experiment, start_run, log_*, end_run", () => {
  it("creates the experiment when get-by-name says it does not exist, then logs a whole run", async () => {
    const missing = await p.call("GET", `${API}/experiments/get-by-name?experiment_name=fraud`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      error_code: "RESOURCE_DOES_NOT_EXIST",
      message: expect.stringContaining("fraud"),
    });

    const { experiment_id } = await ok("POST", "experiments/create", { name: "fraud" });
    expect(experiment_id).toMatch(/^\d+$/);
    const { experiment } = await ok("GET", `experiments/get?experiment_id=${experiment_id}`);
    expect(experiment).toEqual({
      experiment_id,
      name: "fraud",
      artifact_location: `mlflow-artifacts:/${experiment_id}`,
      lifecycle_stage: "active",
      creation_time: expect.any(Number),
      last_update_time: expect.any(Number),
    });

    const start = 1_700_000_000_000;
    const created = await ok("POST", "runs/create", {
      experiment_id,
      user_id: "alice",
      start_time: start,
      tags: [
        { key: "mlflow.user", value: "alice" },
        { key: "mlflow.source.name", value: "train.py" },
        { key: "mlflow.source.type", value: "LOCAL" },
        { key: "mlflow.runName", value: "bright-owl-1" },
      ],
      run_name: "bright-owl-1",
    });
    const info = created.run.info;
    const runId = info.run_id;
    expect(info).toEqual({
      run_id: runId,
      run_uuid: runId,
      run_name: "bright-owl-1",
      experiment_id,
      user_id: "alice",
      status: "RUNNING",
      start_time: start,
      artifact_uri: `mlflow-artifacts:/${experiment_id}/${runId}/artifacts`,
      lifecycle_stage: "active",
    });
    expect(runId).toMatch(/^[0-9a-f]{32}$/);

    expect(
      await ok("POST", "runs/log-parameter", { run_uuid: runId, run_id: runId, key: "lr", value: "0.01" }),
    ).toEqual({});
    for (let step = 0; step < 3; step++) {
      await ok("POST", "runs/log-metric", {
        run_uuid: runId,
        run_id: runId,
        key: "loss",
        value: 1 / (step + 1),
        timestamp: start + step,
        step,
      });
    }
    await ok("POST", "runs/log-batch", {
      run_id: runId,
      metrics: [
        { key: "auc", value: 0.9, timestamp: start + 10, step: 0 },
        { key: "auc", value: 0.95, timestamp: start + 11, step: 1 },
      ],
      params: [{ key: "depth", value: "6" }],
      tags: [{ key: "team", value: "risk" }],
    });
    await ok("POST", "runs/set-tag", { run_uuid: runId, run_id: runId, key: "stage", value: "dev" });
    const ended = await ok("POST", "runs/update", {
      run_uuid: runId,
      run_id: runId,
      status: "FINISHED",
      end_time: start + 99,
    });
    expect(ended.run_info).toMatchObject({
      status: "FINISHED",
      end_time: start + 99,
      run_name: "bright-owl-1",
    });

    const { run } = await ok("GET", `runs/get?run_uuid=${runId}&run_id=${runId}`);
    expect(run.data.params).toEqual([
      { key: "depth", value: "6" },
      { key: "lr", value: "0.01" },
    ]);
    expect(run.data.metrics).toEqual([
      { key: "auc", value: 0.95, timestamp: start + 11, step: 1 },
      { key: "loss", value: 1 / 3, timestamp: start + 2, step: 2 },
    ]);
    expect(run.data.tags).toEqual(
      expect.arrayContaining([
        { key: "mlflow.runName", value: "bright-owl-1" },
        { key: "stage", value: "dev" },
        { key: "team", value: "risk" },
      ]),
    );
    expect(run.inputs).toEqual({});

    const hist = await ok(
      "GET",
      `metrics/get-history?run_uuid=${runId}&run_id=${runId}&metric_key=loss&max_results=25000`,
    );
    expect(hist.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2]);
    expect(hist.next_page_token).toBeUndefined();

    const found = await ok("POST", "runs/search", {
      experiment_ids: [experiment_id],
      filter: "params.lr = '0.01' and metrics.auc >= 0.95 and tags.team = 'risk'",
      run_view_type: "ACTIVE_ONLY",
      max_results: 1000,
      order_by: ["metrics.loss ASC"],
    });
    expect(found.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([runId]);
  });

  it("the Default experiment 0 exists on first use and takes runs", async () => {
    const { experiment } = await ok("GET", "experiments/get?experiment_id=0");
    expect(experiment).toMatchObject({
      experiment_id: "0",
      name: "Default",
      artifact_location: "mlflow-artifacts:/0",
    });
    const { run } = await ok("POST", "runs/create", { experiment_id: "0", start_time: 5 });
    expect(run.info.experiment_id).toBe("0");
    expect(run.info.run_name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    expect(run.info.user_id).toBe("alice");
  });
});

describe("MLflow semantics", () => {
  let exp: string;
  beforeAll(async () => {
    exp = (
      await ok("POST", "experiments/create", { name: "semantics", tags: [{ key: "owner", value: "bob" }] })
    ).experiment_id;
  });

  it("params are immutable: the same value again is fine, a different one is INVALID_PARAMETER_VALUE", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    await ok("POST", "runs/log-parameter", { run_id: runId, key: "k", value: "1" });
    await ok("POST", "runs/log-parameter", { run_id: runId, key: "k", value: "1" });
    const r = await p.call("POST", `${API}/runs/log-parameter`, { run_id: runId, key: "k", value: "2" });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(r.json.message).toContain("k");
  });

  it("NaN and ±Infinity metric values round-trip, in get-run and in history", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    await ok("POST", "runs/log-batch", {
      run_id: runId,
      metrics: [
        { key: "nan", value: "NaN", timestamp: 1, step: 0 },
        { key: "inf", value: "Infinity", timestamp: 1, step: 0 },
        { key: "ninf", value: "-Infinity", timestamp: 1, step: 0 },
      ],
    });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "nan", value: "NaN", timestamp: 2, step: 1 });
    const { run } = await ok("GET", `runs/get?run_id=${runId}`);
    expect(run.data.metrics).toEqual([
      { key: "inf", value: "Infinity", timestamp: 1, step: 0 },
      { key: "nan", value: "NaN", timestamp: 2, step: 1 },
      { key: "ninf", value: "-Infinity", timestamp: 1, step: 0 },
    ]);
    const hist = await ok("GET", `metrics/get-history?run_id=${runId}&metric_key=nan`);
    expect(hist.metrics.map((m: { value: unknown }) => m.value)).toEqual(["NaN", "NaN"]);
  });

  it("the latest metric is the one with the highest (step, timestamp), whatever the arrival order", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    await ok("POST", "runs/log-metric", { run_id: runId, key: "m", value: 5, timestamp: 10, step: 5 });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "m", value: 1, timestamp: 20, step: 1 });
    await ok("POST", "runs/log-batch", {
      run_id: runId,
      metrics: [{ key: "m", value: 2, timestamp: 30, step: 2 }],
    });
    const { run } = await ok("GET", `runs/get?run_id=${runId}`);
    expect(run.data.metrics).toEqual([{ key: "m", value: 5, timestamp: 10, step: 5 }]);
    const hist = await ok("GET", `metrics/get-history?run_id=${runId}&metric_key=m`);
    expect(hist.metrics.map((m: { step: number }) => m.step)).toEqual([1, 2, 5]);
    // Negative steps and a larger timestamp at the same step order numerically too.
    await ok("POST", "runs/log-metric", { run_id: runId, key: "neg", value: 1, timestamp: 5, step: -1 });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "neg", value: 2, timestamp: 9, step: -10 });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "neg", value: 3, timestamp: 10, step: -1 });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "neg", value: 4, timestamp: 7, step: -1 });
    const latest = (await ok("GET", `runs/get?run_id=${runId}`)).run.data.metrics;
    expect(latest).toContainEqual({ key: "neg", value: 3, timestamp: 10, step: -1 });
  });

  it("run_name and the mlflow.runName tag stay in step", async () => {
    const runId = (
      await ok("POST", "runs/create", { experiment_id: exp, tags: [{ key: "mlflow.runName", value: "a" }] })
    ).run.info.run_id;
    expect((await ok("GET", `runs/get?run_id=${runId}`)).run.info.run_name).toBe("a");
    await ok("POST", "runs/update", { run_id: runId, run_name: "b" });
    let run = (await ok("GET", `runs/get?run_id=${runId}`)).run;
    expect(run.info.run_name).toBe("b");
    expect(run.data.tags).toContainEqual({ key: "mlflow.runName", value: "b" });
    await ok("POST", "runs/set-tag", { run_id: runId, key: "mlflow.runName", value: "c" });
    run = (await ok("GET", `runs/get?run_id=${runId}`)).run;
    expect(run.info.run_name).toBe("c");
    const conflict = await p.call("POST", `${API}/runs/create`, {
      experiment_id: exp,
      run_name: "x",
      tags: [{ key: "mlflow.runName", value: "y" }],
    });
    expect(conflict.status).toBe(400);
  });

  it("delete, restore and the active-state rule for runs", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    await ok("POST", "runs/delete", { run_id: runId });
    expect((await ok("GET", `runs/get?run_id=${runId}`)).run.info.lifecycle_stage).toBe("deleted");
    const write = await p.call("POST", `${API}/runs/log-metric`, {
      run_id: runId,
      key: "m",
      value: 1,
      timestamp: 1,
    });
    expect(write.status).toBe(400);
    expect(write.json.message).toContain("active");
    const active = await ok("POST", "runs/search", {
      experiment_ids: [exp],
      filter: `attributes.run_id = '${runId}'`,
    });
    expect(active.runs).toBeUndefined();
    const deleted = await ok("POST", "runs/search", {
      experiment_ids: [exp],
      filter: `attributes.run_id = '${runId}'`,
      run_view_type: "DELETED_ONLY",
    });
    expect(deleted.runs).toHaveLength(1);
    await ok("POST", "runs/restore", { run_id: runId });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "m", value: 1, timestamp: 1 });
    await ok("POST", "runs/delete-tag", { run_id: runId, key: "mlflow.user" });
    const again = await p.call("POST", `${API}/runs/delete-tag`, { run_id: runId, key: "mlflow.user" });
    expect(again.status).toBe(404);
  });

  it("experiments: tags, rename, unique names, delete and restore (with their runs)", async () => {
    const id = (await ok("POST", "experiments/create", { name: "life" })).experiment_id;
    const runId = (await ok("POST", "runs/create", { experiment_id: id })).run.info.run_id;
    await ok("POST", "experiments/set-experiment-tag", { experiment_id: id, key: "note", value: "hi" });
    expect((await ok("GET", `experiments/get?experiment_id=${id}`)).experiment.tags).toEqual([
      { key: "note", value: "hi" },
    ]);
    await ok("POST", "experiments/delete-experiment-tag", { experiment_id: id, key: "note" });
    expect((await ok("GET", `experiments/get?experiment_id=${id}`)).experiment.tags).toBeUndefined();

    const dup = await p.call("POST", `${API}/experiments/create`, { name: "life" });
    expect(dup.status).toBe(409);
    expect(dup.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");

    await ok("POST", "experiments/update", { experiment_id: id, new_name: "life2" });
    expect((await ok("GET", "experiments/get-by-name?experiment_name=life2")).experiment.experiment_id).toBe(
      id,
    );
    expect((await p.call("GET", `${API}/experiments/get-by-name?experiment_name=life`)).status).toBe(404);
    // The old name is free again.
    await ok("POST", "experiments/create", { name: "life" });
    expect(
      (await p.call("POST", `${API}/experiments/update`, { experiment_id: id, new_name: "semantics" }))
        .status,
    ).toBe(409);

    await ok("POST", "experiments/delete", { experiment_id: id });
    expect((await ok("GET", `experiments/get?experiment_id=${id}`)).experiment.lifecycle_stage).toBe(
      "deleted",
    );
    expect((await ok("GET", `runs/get?run_id=${runId}`)).run.info.lifecycle_stage).toBe("deleted");
    expect((await p.call("POST", `${API}/runs/create`, { experiment_id: id })).status).toBe(400);
    const listed = await ok("POST", "experiments/search", {
      filter: "name = 'life2'",
      view_type: "DELETED_ONLY",
    });
    expect(listed.experiments.map((e: { experiment_id: string }) => e.experiment_id)).toEqual([id]);
    await ok("POST", "experiments/restore", { experiment_id: id });
    expect((await ok("GET", `runs/get?run_id=${runId}`)).run.info.lifecycle_stage).toBe("active");
  });

  it("log-inputs stores datasets once per run and they are searchable", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    const input = {
      tags: [{ key: "mlflow.data.context", value: "training" }],
      dataset: {
        name: "txns",
        digest: "abc123",
        source_type: "local",
        source: '{"uri": "/data/txns.parquet"}',
        schema: "{}",
      },
    };
    await ok("POST", "runs/log-inputs", { run_id: runId, datasets: [input] });
    await ok("POST", "runs/log-inputs", { run_id: runId, datasets: [input] });
    const { run } = await ok("GET", `runs/get?run_id=${runId}`);
    expect(run.inputs).toEqual({ dataset_inputs: [input] });
    const found = await ok("POST", "runs/search", {
      experiment_ids: [exp],
      filter: "datasets.name = 'txns' AND datasets.context = 'training'",
    });
    expect(found.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([runId]);
  });

  it("log-model appends to the mlflow.log-model.history tag", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    const model = (path: string) => ({
      run_id: runId,
      artifact_path: path,
      utc_time_created: "2026-01-01 00:00:00.000000",
      flavors: { python_function: { loader_module: "mlflow.sklearn" } },
    });
    await ok("POST", "runs/log-model", { run_id: runId, model_json: JSON.stringify(model("model")) });
    await ok("POST", "runs/log-model", { run_id: runId, model_json: JSON.stringify(model("model2")) });
    const { run } = await ok("GET", `runs/get?run_id=${runId}`);
    const tag = run.data.tags.find((t: { key: string }) => t.key === "mlflow.log-model.history");
    expect(JSON.parse(tag.value)).toEqual([model("model"), model("model2")]);
    const bad = await p.call("POST", `${API}/runs/log-model`, {
      run_id: runId,
      model_json: '{"flavors": {}}',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("artifact_path");
  });

  it("artifacts/list lists the run's artifact tree relative to its root", async () => {
    const { run } = await ok("POST", "runs/create", { experiment_id: exp });
    const base = `${exp}/${run.info.run_id}/artifacts`;
    await p.platform.deps.artifacts.put(`${base}/model/MLmodel`, Buffer.from("flavors: {}"));
    await p.platform.deps.artifacts.put(`${base}/notes.txt`, Buffer.from("hello"));
    const root = await ok("GET", `artifacts/list?run_id=${run.info.run_id}`);
    expect(root).toEqual({
      root_uri: run.info.artifact_uri,
      files: [
        { path: "model", is_dir: true },
        { path: "notes.txt", is_dir: false, file_size: 5 },
      ],
    });
    const sub = await ok("GET", `artifacts/list?run_id=${run.info.run_id}&path=model`);
    expect(sub.files).toEqual([{ path: "model/MLmodel", is_dir: false, file_size: 11 }]);
  });

  it("get-history-bulk-interval samples steps per run", async () => {
    const runId = (await ok("POST", "runs/create", { experiment_id: exp })).run.info.run_id;
    await ok("POST", "runs/log-batch", {
      run_id: runId,
      metrics: Array.from({ length: 50 }, (_, i) => ({ key: "x", value: i, timestamp: i, step: i })),
    });
    const r = await ok(
      "GET",
      `metrics/get-history-bulk-interval?run_ids=${runId}&metric_key=x&max_results=5&start_step=10&end_step=49`,
    );
    // MLflow's rule: 40 steps in [10, 49], interval 8 -> indices 10, 18, 26, 34 (42 is past its
    // bound of 40), plus the last step 49
    expect(r.metrics.map((m: { step: number }) => m.step)).toEqual([10, 18, 26, 34, 49]);
    expect(r.metrics[0]).toEqual({ key: "x", value: 10, timestamp: 10, step: 10, run_id: runId });
  });
});

describe("principals and audit", () => {
  it("records who wrote, from x-keel-principal, and audits lifecycle changes", async () => {
    const h = { "x-keel-principal": "carol" };
    const id = (await ok("POST", "experiments/create", { name: "audited" }, h)).experiment_id;
    const { run } = await ok("POST", "runs/create", { experiment_id: id }, h);
    expect(run.info.user_id).toBe("carol");
    await ok("POST", "runs/update", { run_id: run.info.run_id, status: "KILLED" }, h);
    await ok("POST", "runs/delete", { run_id: run.info.run_id }, h);
    const { events } = await p.platform.deps.audit.list({ principal: "carol" });
    expect(events.map((e) => [e.action, e.resource])).toEqual([
      ["tracking.experiment.create", `experiment:${id}`],
      ["tracking.run.create", `run:${run.info.run_id}`],
      ["tracking.run.update", `run:${run.info.run_id}`],
      ["tracking.run.delete", `run:${run.info.run_id}`],
    ]);
    const item = await p.platform.deps.store.get({ pk: `RUN#${run.info.run_id}`, sk: "RUN" });
    expect(item).toMatchObject({ createdBy: "carol", updatedBy: "carol" });
  });
});

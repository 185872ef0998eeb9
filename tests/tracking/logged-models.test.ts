import { describe, expect, it } from "vitest";
import { platformForFile } from "../helpers/platform";

/**
 * MLflow 3's logged models over real HTTP, as the 3.x client drives them from
 * `mlflow.<flavor>.log_model`: create (pending) with the source run, upload the files through
 * the artifact proxy to the model's artifact_uri, finalize ready, record the run's outputs;
 * plus get, search, tags, params, delete and the UI's artifact listing and download.
 */
const API = "/api/2.0/mlflow";

const p = platformForFile({ defaultPrincipal: "alice" }, `${API}/`);
const { ok } = p;

const { experiment } = p;
const kvs = (list: Array<{ key: string; value: string }>) =>
  Object.fromEntries(list.map((e) => [e.key, e.value]));

describe("log_model's sequence", () => {
  it("creates a pending model, takes its files through the artifact proxy, finalizes it, links the run", async () => {
    const experimentId = await experiment("log model v3");
    const runId = (await ok("POST", "runs/create", { experiment_id: experimentId })).run.info.run_id;
    const { model } = await ok("POST", "logged-models", {
      experiment_id: experimentId,
      name: "model",
      source_run_id: runId,
      params: [{ key: "alpha", value: "0.5" }],
      tags: [{ key: "mlflow.source.name", value: "nb.py" }],
    });
    expect(model.info).toMatchObject({
      experiment_id: experimentId,
      name: "model",
      status: "LOGGED_MODEL_PENDING",
      source_run_id: runId,
      artifact_uri: `mlflow-artifacts:/${experimentId}/models/${model.info.model_id}/artifacts`,
    });
    expect(model.info.model_id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(kvs(model.data.params)).toEqual({ alpha: "0.5" });

    const root = model.info.artifact_uri.replace("mlflow-artifacts:/", "");
    const mlmodel = `artifact_path: model\nmodel_id: ${model.info.model_id}\n`;
    for (const [file, body] of [
      ["MLmodel", mlmodel],
      ["python_env.yaml", "python: 3.11\n"],
      ["code/model.py", "print(1)\n"],
    ]) {
      expect((await p.call("PUT", `/api/2.0/mlflow-artifacts/artifacts/${root}/${file}`, body)).status).toBe(
        200,
      );
    }

    const ready = await ok("PATCH", `logged-models/${model.info.model_id}`, {
      model_id: model.info.model_id,
      status: "LOGGED_MODEL_READY",
    });
    expect(ready.model.info.status).toBe("LOGGED_MODEL_READY");
    await ok("POST", "runs/outputs", { run_id: runId, models: [{ model_id: model.info.model_id, step: 0 }] });
    const run = await ok("GET", `runs/get?run_id=${runId}`);
    expect(run.run.outputs).toEqual({ model_outputs: [{ model_id: model.info.model_id, step: 0 }] });

    const listed = await ok("GET", `logged-models/${model.info.model_id}/artifacts/directories`);
    expect(listed.root_uri).toBe(model.info.artifact_uri);
    expect(listed.files.map((f: { path: string }) => f.path)).toEqual(["MLmodel", "code", "python_env.yaml"]);
    const sub = await p.call(
      "GET",
      `/ajax-api/2.0/mlflow/logged-models/${model.info.model_id}/artifacts/directories?artifact_directory_path=code`,
    );
    expect(sub.json.files).toEqual([{ path: "code/model.py", is_dir: false, file_size: 9 }]);
    const file = await p.call(
      "GET",
      `/ajax-api/2.0/mlflow/logged-models/${model.info.model_id}/artifacts/files?artifact_file_path=MLmodel`,
    );
    expect(file.status).toBe(200);
    expect(file.text).toBe(mlmodel);
    const traversal = await p.call(
      "GET",
      `${API}/logged-models/${model.info.model_id}/artifacts/files?artifact_file_path=../../../x`,
    );
    expect(traversal.status).toBe(400);
  });
});

describe("logged model CRUD", () => {
  it("names a model when the client does not, keeps model_type and tags", async () => {
    const experimentId = await experiment("crud");
    const { model } = await ok("POST", "logged-models", { experiment_id: experimentId, model_type: "LLM" });
    expect(model.info.name).toMatch(/\S+/);
    const got = await ok("GET", `logged-models/${model.info.model_id}`);
    expect(got.model.info).toMatchObject({ model_type: "LLM", name: model.info.name });
  });

  it("sets, overwrites and deletes tags; deleting an absent tag is 404", async () => {
    const experimentId = await experiment("tags");
    const { model } = await ok("POST", "logged-models", { experiment_id: experimentId });
    const id = model.info.model_id;
    await ok("PATCH", `logged-models/${id}/tags`, {
      tags: [
        { key: "tag1", value: "value1" },
        { key: "tag2", value: "value2" },
      ],
    });
    await ok("PATCH", `logged-models/${id}/tags`, { tags: [{ key: "tag1", value: "value3" }] });
    expect(kvs((await ok("GET", `logged-models/${id}`)).model.info.tags)).toEqual({
      tag1: "value3",
      tag2: "value2",
    });
    await ok("DELETE", `logged-models/${id}/tags/tag1`);
    expect(kvs((await ok("GET", `logged-models/${id}`)).model.info.tags)).toEqual({ tag2: "value2" });
    const again = await p.call("DELETE", `${API}/logged-models/${id}/tags/tag1`);
    expect(again.status).toBe(404);
    expect(again.json.message).toContain("No tag with key");
  });

  it("logs params, finalizes as failed, refuses other statuses", async () => {
    const experimentId = await experiment("params");
    const { model } = await ok("POST", "logged-models", { experiment_id: experimentId });
    const id = model.info.model_id;
    await ok("POST", `logged-models/${id}/params`, { params: [{ key: "param", value: "value" }] });
    expect(kvs((await ok("GET", `logged-models/${id}`)).model.data.params)).toEqual({ param: "value" });
    const failed = await ok("PATCH", `logged-models/${id}`, { status: "LOGGED_MODEL_UPLOAD_FAILED" });
    expect(failed.model.info.status).toBe("LOGGED_MODEL_UPLOAD_FAILED");
    expect(
      (await p.call("PATCH", `${API}/logged-models/${id}`, { status: "LOGGED_MODEL_PENDING" })).status,
    ).toBe(400);
    expect((await p.call("PATCH", `${API}/logged-models/${id}`, {})).status).toBe(400);
  });

  it("deletes: the model is gone from get (404 'not found') and from search", async () => {
    const experimentId = await experiment("delete");
    const { model } = await ok("POST", "logged-models", { experiment_id: experimentId });
    await ok("DELETE", `logged-models/${model.info.model_id}`);
    const gone = await p.call("GET", `${API}/logged-models/${model.info.model_id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.message).toContain("not found");
    expect(
      (await ok("POST", "logged-models/search", { experiment_ids: [experimentId] })).models ?? [],
    ).toEqual([]);
  });

  it("refuses a model without an experiment or in an unknown one", async () => {
    expect((await p.call("POST", `${API}/logged-models`, {})).status).toBe(400);
    expect((await p.call("POST", `${API}/logged-models`, { experiment_id: "987654" })).status).toBe(404);
  });
});

describe("metrics and inputs", () => {
  it("keeps metrics logged with a model_id on the model; search by dataset and metric value", async () => {
    const experimentId = await experiment("model metrics");
    const runId = (await ok("POST", "runs/create", { experiment_id: experimentId })).run.info.run_id;
    const m1 = (await ok("POST", "logged-models", { experiment_id: experimentId, name: "scored" })).model
      .info;
    await ok("POST", "logged-models", { experiment_id: experimentId, name: "unscored" });
    await ok("POST", "runs/log-metric", {
      run_id: runId,
      key: "auc",
      value: 0.5,
      timestamp: 123456789,
      step: 1,
      model_id: m1.model_id,
      dataset_name: "test",
      dataset_digest: "123",
    });
    const got = await ok("GET", `logged-models/${m1.model_id}`);
    expect(got.model.data.metrics).toEqual([
      {
        key: "auc",
        value: 0.5,
        timestamp: 123456789,
        step: 1,
        run_id: runId,
        model_id: m1.model_id,
        dataset_name: "test",
        dataset_digest: "123",
      },
    ]);
    const names = (r: { models?: Array<{ info: { name: string } }> }) =>
      (r.models ?? []).map((m) => m.info.name);
    const onTest = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      datasets: [{ dataset_name: "test", dataset_digest: "123" }],
    });
    expect(names(onTest)).toEqual(["scored"]);
    const onOther = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      datasets: [{ dataset_name: "other" }],
    });
    expect(names(onOther)).toEqual([]);
    const good = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      filter: "metrics.auc > 0.4",
    });
    expect(names(good)).toEqual(["scored"]);
    const unknown = await p.call("POST", `${API}/runs/log-metric`, {
      run_id: runId,
      key: "auc",
      value: 1,
      timestamp: 1,
      model_id: "m-nope",
    });
    expect(unknown.status).toBe(404);
  });

  it("records the models a run used (log-inputs `models`) on the run", async () => {
    const experimentId = await experiment("model inputs");
    const runId = (await ok("POST", "runs/create", { experiment_id: experimentId })).run.info.run_id;
    const model = (await ok("POST", "logged-models", { experiment_id: experimentId })).model.info;
    await ok("POST", "runs/log-inputs", {
      run_id: runId,
      datasets: [{ dataset: { name: "d", digest: "1", source_type: "local", source: "x" } }],
      models: [{ model_id: model.model_id }],
    });
    const run = await ok("GET", `runs/get?run_id=${runId}`);
    expect(run.run.inputs.model_inputs).toEqual([{ model_id: model.model_id }]);
    const unknown = await p.call("POST", `${API}/runs/log-inputs`, {
      run_id: runId,
      datasets: [],
      models: [{ model_id: "m-nope" }],
    });
    expect(unknown.status).toBe(404);
  });
});

describe("search", () => {
  it("orders newest first, pages, filters by name and params, orders by creation time", async () => {
    const experimentId = await experiment("search models");
    const m1 = (await ok("POST", "logged-models", { experiment_id: experimentId, name: "first" })).model.info;
    await new Promise((r) => setTimeout(r, 5));
    const m2 = (
      await ok("POST", "logged-models", {
        experiment_id: experimentId,
        name: "second",
        params: [{ key: "alpha", value: "1" }],
      })
    ).model.info;
    const names = (r: { models?: Array<{ info: { name: string } }> }) =>
      (r.models ?? []).map((m) => m.info.name);

    const page1 = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      max_results: 1,
    });
    expect(names(page1)).toEqual(["second"]);
    const page2 = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      max_results: 1,
      page_token: page1.next_page_token,
    });
    expect(names(page2)).toEqual(["first"]);
    expect(page2.next_page_token).toBeUndefined();

    const byName = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      filter: `name = '${m1.name}'`,
    });
    expect(names(byName)).toEqual(["first"]);
    const byParam = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      filter: "params.alpha = '1'",
    });
    expect(names(byParam)).toEqual([m2.name]);
    const asc = await ok("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      order_by: [{ field_name: "creation_timestamp", ascending: true }],
    });
    expect(names(asc)).toEqual(["first", "second"]);
    const bad = await p.call("POST", `${API}/logged-models/search`, {
      experiment_ids: [experimentId],
      filter: "x.y = 1",
    });
    expect(bad.status).toBe(400);
  });
});

describe("registry", () => {
  it("lists versions registered from a logged model on it (mlflow.modelVersions)", async () => {
    const experimentId = await experiment("registered from logged model");
    const model = (await ok("POST", "logged-models", { experiment_id: experimentId })).model.info;
    await ok("POST", "registered-models/create", { name: "from-logged" });
    for (let i = 0; i < 2; i++) {
      await ok("POST", "model-versions/create", {
        name: "from-logged",
        source: model.artifact_uri,
        model_id: model.model_id,
      });
    }
    const tags = kvs((await ok("GET", `logged-models/${model.model_id}`)).model.info.tags);
    expect(tags["mlflow.modelVersions"]).toBe(
      '[{"name": "from-logged", "version": 1}, {"name": "from-logged", "version": 2}]',
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * The MLflow UI's endpoints outside the protobuf service (MLflow 2.17's `mlflow/server/
 * __init__.py` and `handlers.py`), over real HTTP: their checks and messages, and what they
 * read and write.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const API = "/api/2.0/mlflow";
const AJAX = "/ajax-api/2.0/mlflow";
let exp: string;

const newRun = async () =>
  (await p.call("POST", `${API}/runs/create`, { experiment_id: exp })).json.run.info.run_id as string;

async function expect400(
  r: { status: number; json: { error_code?: string; message?: string }; text: string },
  message: string,
) {
  expect(r.status, r.text).toBe(400);
  expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  expect(r.json.message).toContain(message);
}

const upload = (query: string, body?: string) =>
  fetch(`${p.url}${AJAX}/upload-artifact?${query}`, { method: "POST", body });

beforeAll(async () => {
  p = await startTestPlatform();
  exp = (await p.call("POST", `${API}/experiments/create`, { name: "ajax" })).json.experiment_id;
});
afterAll(async () => {
  await p?.close();
});

describe("metrics/get-history-bulk", () => {
  const url = `${AJAX}/metrics/get-history-bulk`;

  it("checks run ids and the metric key with MLflow's messages", async () => {
    await expect400(await p.call("GET", `${url}?metric_key=k`), "must specify at least one run_id");
    const many = Array.from({ length: 101 }, (_, i) => `run_id=id_${i}`).join("&");
    await expect400(
      await p.call("GET", `${url}?${many}&metric_key=k`),
      "cannot specify more than 100 run_ids",
    );
    await expect400(await p.call("GET", `${url}?run_id=123`), "must specify a metric_key");
  });

  it("returns every point, runs in id order, each by timestamp then step, capped by max_results", async () => {
    const [a, b] = [await newRun(), await newRun()].sort();
    const history = [
      { timestamp: 1, step: 2, value: 10 },
      { timestamp: 1, step: 3, value: 11 },
      { timestamp: 1, step: 3, value: 12 },
      { timestamp: 2, step: 3, value: 12 },
    ];
    for (const run_id of [b, a]) {
      for (const m of [...history].reverse()) {
        await p.call("POST", `${API}/runs/log-metric`, { run_id, key: "k", ...m });
      }
    }
    const all = await p.call("GET", `${url}?run_id=${b}&run_id=${a}&metric_key=k`);
    expect(all.status).toBe(200);
    expect(all.json.metrics).toEqual([
      ...history.map((m) => ({ key: "k", ...m, run_id: a })),
      ...history.map((m) => ({ key: "k", ...m, run_id: b })),
    ]);
    const two = await p.call("GET", `${url}?run_id=${a}&metric_key=k&max_results=2`);
    expect(two.json.metrics).toEqual(history.slice(0, 2).map((m) => ({ key: "k", ...m, run_id: a })));
  });
});

describe("experiments/search-datasets", () => {
  const url = `${AJAX}/experiments/search-datasets`;

  it("needs 1 to 20 experiment ids", async () => {
    await expect400(
      await p.call("POST", url, {}),
      "SearchDatasets request must specify at least one experiment_id.",
    );
    await expect400(
      await p.call("POST", url, { experiment_ids: [] }),
      "must specify at least one experiment_id",
    );
    const ids = Array.from({ length: 21 }, (_, i) => `id_${i}`);
    await expect400(
      await p.call("POST", url, { experiment_ids: ids }),
      "cannot specify more than 20 experiment_ids",
    );
  });

  it("summarises each logged dataset once, with its context tag", async () => {
    const e = (await p.call("POST", `${API}/experiments/create`, { name: "datasets" })).json.experiment_id;
    const run_id = (await p.call("POST", `${API}/runs/create`, { experiment_id: e })).json.run.info.run_id;
    const datasets = [
      {
        dataset: { name: "name1", digest: "digest1", source_type: "t", source: "s" },
        tags: [{ key: "mlflow.data.context", value: "training" }],
      },
    ];
    await p.call("POST", `${API}/runs/log-inputs`, { run_id, datasets });
    await p.call("POST", `${API}/runs/log-inputs`, { run_id, datasets });
    const r = await p.call("POST", url, { experiment_ids: [e] });
    expect(r.status).toBe(200);
    expect(r.json.dataset_summaries).toEqual([
      { experiment_id: e, name: "name1", digest: "digest1", context: "training" },
    ]);
  });
});

describe("runs/create-promptlab-run", () => {
  const url = `${AJAX}/runs/create-promptlab-run`;
  const full = {
    experiment_id: "",
    run_name: "my_run_name",
    prompt_template: "my_prompt_template",
    prompt_parameters: [{ key: "my_key", value: "my_value" }],
    model_route: "my_route",
    model_parameters: [{ key: "temperature", value: "0.1" }],
    model_input: "my_input",
    model_output: "my_output",
    model_output_parameters: [{ key: "latency", value: "100" }],
    mlflow_version: "2.17.2",
    user_id: "username",
    start_time: 456,
  };

  it("names the first missing field, in MLflow's order", async () => {
    const order = [
      "experiment_id",
      "prompt_template",
      "prompt_parameters",
      "model_route",
      "model_input",
      "mlflow_version",
    ];
    const body: Record<string, unknown> = {};
    for (const field of order) {
      await expect400(await p.call("POST", url, body), `CreatePromptlabRun request must specify ${field}.`);
      body[field] = full[field as keyof typeof full] || exp;
    }
  });

  it("records a finished run with the route, template and parameters, and its evaluation table", async () => {
    const r = await p.call("POST", url, { ...full, experiment_id: exp });
    expect(r.status, r.text).toBe(200);
    const run = r.json.run;
    expect(run.info).toMatchObject({
      run_name: "my_run_name",
      experiment_id: exp,
      user_id: "username",
      status: "FINISHED",
      start_time: 456,
    });
    expect(run.data.params).toEqual(
      expect.arrayContaining([
        { key: "model_route", value: "my_route" },
        { key: "prompt_template", value: "my_prompt_template" },
        { key: "temperature", value: "0.1" },
      ]),
    );
    expect(run.data.tags).toEqual(
      expect.arrayContaining([
        { key: "mlflow.loggedArtifacts", value: '[{"path": "eval_results_table.json", "type": "table"}]' },
        { key: "mlflow.runSourceType", value: "PROMPT_ENGINEERING" },
      ]),
    );
    const table = await p.call("GET", `/get-artifact?run_id=${run.info.run_id}&path=eval_results_table.json`);
    expect(table.status).toBe(200);
    expect(JSON.parse(table.text)).toEqual({
      columns: ["my_key", "prompt", "output", "latency"],
      data: [["my_value", "my_input", "my_output", "100"]],
    });
  });
});

describe("upload-artifact and get-artifact", () => {
  it("checks run, path and data with MLflow's messages", async () => {
    const run = await newRun();
    const err = async (res: Response, msg: string) =>
      expect400({ status: res.status, json: (await res.json()) as { message?: string }, text: "" }, msg);
    await err(await upload(""), "Request must specify run_uuid.");
    await err(await upload(`run_uuid=${run}`), "Request must specify path.");
    await err(await upload(`run_uuid=${run}&path=`), "Request must specify path.");
    await err(await upload(`run_uuid=${run}&path=../test.txt`, "x"), "Invalid path");
    await err(await upload(`run_uuid=${run}&path=test.txt`), "Request must specify data.");
    const big = "x".repeat(10 * 1024 * 1024 + 1);
    await err(
      await upload(`run_uuid=${run}&path=big.txt`, big),
      "Artifact size is too large. Max size is 10MB.",
    );
    const chunked = new ReadableStream({
      start(ctrl) {
        for (let i = 0; i < 11; i++) ctrl.enqueue(new Uint8Array(1024 * 1024));
        ctrl.close();
      },
    });
    const streamed = await fetch(
      `${p.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run}&path=big.bin`,
      {
        method: "POST",
        body: chunked,
        duplex: "half",
      } as RequestInit,
    );
    await err(streamed, "Artifact size is too large. Max size is 10MB.");
  });

  it("stores the body as a run artifact that get-artifact sends back as an attachment", async () => {
    const run = await newRun();
    expect((await upload(`run_uuid=${run}&path=dir/test.txt`, "hello world")).status).toBe(200);
    const got = await p.call("GET", `/get-artifact?run_uuid=${run}&path=dir/test.txt`);
    expect(got.status).toBe(200);
    expect(got.text).toBe("hello world");
    expect(got.headers.get("content-disposition")).toBe("attachment; filename=test.txt");
    const listed = await p.call("GET", `${API}/artifacts/list?run_id=${run}&path=dir`);
    expect(listed.json.files).toEqual([{ path: "dir/test.txt", is_dir: false, file_size: 11 }]);
  });

  it("refuses traversal everywhere a run's or version's artifact path is named", async () => {
    const run = await newRun();
    for (const path of [
      `${API}/artifacts/list?run_id=${run}&path=../path`,
      `/get-artifact?run_id=${run}&path=../path`,
      `/get-artifact?run_id=${run}&path=%2E%2E%2Fpath`,
      "//model-versions/get-artifact?name=model&version=1&path=../path",
    ]) {
      const r = await p.call("GET", path);
      expect(r.status, path).toBe(400);
      expect(r.json, path).toEqual({ error_code: "INVALID_PARAMETER_VALUE", message: "Invalid path" });
    }
  });
});

describe("model-versions/get-artifact", () => {
  it("sends a file of a registered version", async () => {
    const run = await newRun();
    expect((await upload(`run_uuid=${run}&path=model/MLmodel`, "flavors: {}\n")).status).toBe(200);
    await p.call("POST", `${API}/registered-models/create`, { name: "ajax-model" });
    const v = await p.call("POST", `${API}/model-versions/create`, {
      name: "ajax-model",
      source: `mlflow-artifacts:/${exp}/${run}/artifacts/model`,
      run_id: run,
    });
    expect(v.status, v.text).toBe(200);
    const got = await p.call("GET", "/model-versions/get-artifact?name=ajax-model&version=1&path=MLmodel");
    expect(got.status, got.text).toBe(200);
    expect(got.text).toBe("flavors: {}\n");
    const none = await p.call("GET", "/model-versions/get-artifact?name=nope&version=1&path=MLmodel");
    expect(none.status).toBe(404);
    expect(none.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });
});

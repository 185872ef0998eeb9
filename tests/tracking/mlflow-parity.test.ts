import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * Behaviour MLflow 2.17's own REST tracking suite (tests/tracking/test_rest_tracking.py) checks,
 * written from MLflow's server code: its parameter messages, its required fields, the
 * get-history-bulk-interval checks and sampling, model-version sources and "." artifact paths.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let exp: string;
const API = "/api/2.0/mlflow";
const AJAX = "/ajax-api/2.0/mlflow";
const DOCS = " See the API docs for more information about request parameters.";

beforeAll(async () => {
  p = await startTestPlatform();
  exp = (await p.call("POST", `${API}/experiments/create`, { name: "parity" })).json.experiment_id;
});
afterAll(async () => {
  await p?.close();
});

async function newRun(): Promise<string> {
  return (await p.call("POST", `${API}/runs/create`, { experiment_id: exp })).json.run.info.run_id;
}

async function expectInvalid(method: string, path: string, body: unknown, message: string) {
  const r = await p.call(method, path, body);
  expect(r.status, r.text).toBe(400);
  expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  expect(r.json.message).toBe(message);
}

describe("parameter messages as MLflow words them", () => {
  it("a wrong type names the value, the parameter and its Python type", async () => {
    await expectInvalid(
      "POST",
      `${API}/experiments/create`,
      { name: 123 },
      `Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'.${DOCS}`,
    );
  });

  it("prints the value as Python's json.dumps does: strings quoted, floats as spelled", async () => {
    await expectInvalid(
      "POST",
      `${API}/experiments/create`,
      { name: "x", tags: "5" },
      `Invalid value "5" for parameter 'tags' supplied:  Hint: Value was of type 'str'.${DOCS}`,
    );
    const r = await p.call("POST", `${API}/experiments/create`, '{"name": "x", "artifact_location": 9.0}');
    expect(r.status).toBe(400);
    expect(r.json.message).toBe(
      `Invalid value 9.0 for parameter 'artifact_location' supplied:  Hint: Value was of type 'float'.${DOCS}`,
    );
  });

  it("a missing or empty required parameter is a missing value", async () => {
    const runId = await newRun();
    await expectInvalid(
      "POST",
      `${API}/runs/log-parameter`,
      { run_id: runId, value: "1" },
      `Missing value for required parameter 'key'.${DOCS}`,
    );
    await expectInvalid(
      "GET",
      `${API}/experiments/get?experiment_id=`,
      undefined,
      `Missing value for required parameter 'experiment_id'.${DOCS}`,
    );
  });

  it("/api/v1 routes keep Keel's wording", async () => {
    const r = await p.call("POST", "/api/v1/pipelines", { nope: 1 });
    if (r.status === 400) expect(r.json.message).not.toMatch(/See the API docs/);
  });
});

describe("required fields and limits", () => {
  it("a run request without run_id names run_id before any other bad field", async () => {
    await expectInvalid(
      "POST",
      `${API}/runs/log-inputs`,
      { datasets: ['{"dataset": {}}'] },
      `Missing value for required parameter 'run_id'.${DOCS}`,
    );
  });

  it("log-inputs without datasets is refused", async () => {
    const runId = await newRun();
    await expectInvalid(
      "POST",
      `${API}/runs/log-inputs`,
      { run_id: runId },
      `Missing value for required parameter 'datasets'.${DOCS}`,
    );
    expect((await p.call("POST", `${API}/runs/log-inputs`, { run_id: runId, datasets: [] })).status).toBe(
      200,
    );
  });

  it("get-history-bulk-interval checks its parameters before looking up any run", async () => {
    const url = `${AJAX}/metrics/get-history-bulk-interval`;
    await expectInvalid(
      "GET",
      `${url}?metric_key=k`,
      undefined,
      `Missing value for required parameter 'run_ids'.${DOCS}`,
    );
    await expectInvalid(
      "GET",
      `${url}?run_ids=123&metric_key=`,
      undefined,
      `Missing value for required parameter 'metric_key'.${DOCS}`,
    );
    const many = Array.from({ length: 101 }, (_, i) => `run_ids=id_${i}`).join("&");
    await expectInvalid(
      "GET",
      `${url}?${many}&metric_key=k`,
      undefined,
      `GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids.${DOCS}`,
    );
    await expectInvalid(
      "GET",
      `${url}?run_ids=123&metric_key=k&max_results=0`,
      undefined,
      `max_results must be between 1 and 2500.${DOCS}`,
    );
    await expectInvalid(
      "GET",
      `${url}?run_ids=123&metric_key=k&max_results=2501`,
      undefined,
      `max_results must be between 1 and 2500.${DOCS}`,
    );
    await expectInvalid(
      "GET",
      `${url}?run_ids=123&metric_key=k&start_step=1&end_step=0&max_results=5`,
      undefined,
      "end_step must be greater than start_step. Found start_step=1 and end_step=0.",
    );
    await expectInvalid(
      "GET",
      `${url}?run_ids=123&metric_key=k&start_step=1&max_results=5`,
      undefined,
      "If either start step or end step are specified, both must be specified.",
    );
  });
});

describe("get-history-bulk-interval sampling", () => {
  async function logSteps(runId: string, steps: number[]) {
    for (let i = 0; i < steps.length; i += 1000) {
      const metrics = steps
        .slice(i, i + 1000)
        .map((step) => ({ key: "loss", value: step, timestamp: 1000 + step, step }));
      const r = await p.call("POST", `${API}/runs/log-batch`, { run_id: runId, metrics });
      expect(r.status, r.text).toBe(200);
    }
  }
  const stepsOf = async (query: string) => {
    const r = await p.call("GET", `${AJAX}/metrics/get-history-bulk-interval?${query}`);
    expect(r.status, r.text).toBe(200);
    return (r.json.metrics ?? []) as Array<{ step: number; run_id: string }>;
  };

  it("returns every step up to the default of 2500", async () => {
    const runId = await newRun();
    await logSteps(
      runId,
      Array.from({ length: 2500 }, (_, i) => i),
    );
    const got = await stepsOf(`run_ids=${runId}&metric_key=loss`);
    expect(got.map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
  });

  it("takes every (n / max_results)-th step of the range plus the last step and each run's ends", async () => {
    const a = await newRun();
    const b = await newRun();
    await logSteps(
      a,
      Array.from({ length: 10 }, (_, i) => i),
    ); // 0..9
    await logSteps(b, [3, 20]);
    // steps 0..9 and 20 in [0, 20]: 11 steps, max 4, interval 2.75 -> indices 0, 2, 5, 8 -> steps 0, 2,
    // 5, 8; plus the last step 20 and the runs' ends 0, 9, 3, 20; each run answers its points at those.
    const got = await stepsOf(`run_ids=${a}&run_ids=${b}&metric_key=loss&max_results=4`);
    const byRun = (id: string) => got.filter((m) => m.run_id === id).map((m) => m.step);
    expect(byRun(a)).toEqual([0, 2, 3, 5, 8, 9]);
    expect(byRun(b)).toEqual([3, 20]);
    // Runs come back in the order the request names them.
    const reversed = await stepsOf(`run_ids=${b}&run_ids=${a}&metric_key=loss&max_results=4`);
    expect([...new Set(reversed.map((m) => m.run_id))]).toEqual([b, a]);
    expect([...new Set(got.map((m) => m.run_id))]).toEqual([a, b]);
  });

  it("samples within an explicit step range", async () => {
    const runId = await newRun();
    await logSteps(
      runId,
      Array.from({ length: 100 }, (_, i) => i),
    );
    // range [10, 50]: 41 steps, max 4, interval 10.25; idx = 10 + trunc(i * 10.25) -> 10, 20, 30, 40; + 50
    const got = await stepsOf(`run_ids=${runId}&metric_key=loss&start_step=10&end_step=50&max_results=4`);
    expect(got.map((m) => m.step)).toEqual([10, 20, 30, 40, 50]);
  });
});

describe("model version sources", () => {
  const LOCAL =
    "To use a local path as a model version source, the run_id request parameter has to be specified " +
    "and the local path has to be contained within the artifact directory of the run specified by the run_id.";
  const RELATIVE =
    "If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, " +
    "an absolute path must be provided without relative path references present. Please provide an absolute path.";
  const create = (body: Record<string, string>) =>
    p.call("POST", `${API}/model-versions/create`, { name: "parity-model", ...body });

  beforeAll(async () => {
    expect((await p.call("POST", `${API}/registered-models/create`, { name: "parity-model" })).status).toBe(
      200,
    );
  });

  it("refuses a local path source without a run id", async () => {
    for (const source of ["/tmp/model", "file:///tmp/model", "model"]) {
      const r = await create({ source });
      expect(r.status, source).toBe(400);
      expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
      expect(r.json.message).toBe(`Invalid model version source: '${source}'. ${LOCAL}`);
    }
  });

  it("refuses relative path references, however encoded", async () => {
    for (const [source, shown] of [
      ["mlflow-artifacts://host/models/../../../", "mlflow-artifacts://host/models/../../../"],
      ["mlflow-artifacts:/models/%2E%2E/%2E%2E/etc", "mlflow-artifacts:/models/../../etc"],
      ["http://host/a/%252E%252E/b", "http://host/a/../b"],
      ["s3://bucket/a/./b", "s3://bucket/a/./b"],
    ]) {
      const r = await create({ source });
      expect(r.status, source).toBe(400);
      expect(r.json.message).toBe(`Invalid model version source: '${shown}'. ${RELATIVE}`);
    }
  });

  it("accepts absolute remote sources and runs:/ URIs", async () => {
    const runId = await newRun();
    for (const source of ["s3://bucket/models/m", "mlflow-artifacts:/models/m", `runs:/${runId}/model`]) {
      const r = await create({ source });
      expect(r.status, `${source}: ${r.text}`).toBe(200);
    }
  });
});

describe("artifact paths with '.' segments", () => {
  it("lists and downloads through '.' as MLflow's client asks for artifact_path='.'", async () => {
    const runId = await newRun();
    const root = `${exp}/${runId}/artifacts`;
    const put = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/data.txt`, {
      method: "PUT",
      body: "hello",
    });
    expect(put.status).toBe(200);
    const listed = await p.call("GET", `/api/2.0/mlflow-artifacts/artifacts?path=${root}/.`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.files).toEqual([{ path: "model", is_dir: true }]);
    const inner = await p.call("GET", `/api/2.0/mlflow-artifacts/artifacts?path=${root}/./model`);
    expect(inner.json.files).toEqual([{ path: "data.txt", is_dir: false, file_size: 5 }]);
    const got = await p.call("GET", `/api/2.0/mlflow-artifacts/artifacts/${root}/%2E/model/data.txt`);
    expect(got.status, got.text).toBe(200);
    expect(got.text).toBe("hello");
    const tracked = await p.call("GET", `${API}/artifacts/list?run_id=${runId}&path=.`);
    expect(tracked.status, tracked.text).toBe(200);
    expect(tracked.json.files).toEqual([{ path: "model", is_dir: true }]);
  });

  it("still refuses '..'", async () => {
    const r = await p.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=a/../b");
    expect(r.status).toBe(400);
  });
});

describe("nested parameter messages", () => {
  it("names a missing nested field as MLflow does", async () => {
    const runId = await newRun();
    await expectInvalid(
      "POST",
      `${API}/runs/log-batch`,
      {
        run_id: runId,
        metrics: [
          { key: "m", value: 1, timestamp: 1 },
          { value: 1, timestamp: 1 },
        ],
      },
      `Missing value for required parameter 'metrics[1].key'.${DOCS}`,
    );
  });
});

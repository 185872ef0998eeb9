import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * Bad input over real HTTP: the right MLflow error code and a message naming the problem,
 * never a 500, and a rejected batch leaves the run exactly as it was.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let exp: string;
let runId: string;
const API = "/api/2.0/mlflow";

beforeAll(async () => {
  p = await startTestPlatform();
  exp = (await p.call("POST", `${API}/experiments/create`, { name: "bad-input" })).json.experiment_id;
  runId = (await p.call("POST", `${API}/runs/create`, { experiment_id: exp })).json.run.info.run_id;
  await p.call("POST", `${API}/runs/log-parameter`, { run_id: runId, key: "fixed", value: "1" });
});
afterAll(async () => {
  await p?.close();
});

const getRun = async () => (await p.call("GET", `${API}/runs/get?run_id=${runId}`)).json.run;

async function expectError(
  method: string,
  path: string,
  body: unknown,
  code: string,
  status: number,
  msg?: RegExp,
) {
  const r = await p.call(method, `${API}/${path}`, body);
  expect(r.status, `${path} ${JSON.stringify(body)?.slice(0, 200)}: ${r.text}`).toBe(status);
  expect(r.json.error_code).toBe(code);
  if (msg) expect(r.json.message).toMatch(msg);
}

describe("malformed requests", () => {
  it("malformed JSON and non-object bodies are 400", async () => {
    await expectError("POST", "runs/log-batch", "{not json", "MALFORMED_REQUEST", 400, /JSON/);
    await expectError("POST", "runs/log-batch", "[1,2]", "MALFORMED_REQUEST", 400);
  });

  it("wrong types name the field", async () => {
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: "m", value: "abc", timestamp: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /value/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: "m", value: 1, timestamp: "soon" },
      "INVALID_PARAMETER_VALUE",
      400,
      /timestamp/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: "m", value: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /timestamp/,
    );
    await expectError("POST", "experiments/create", { name: 5 }, "INVALID_PARAMETER_VALUE", 400, /name/);
    await expectError("POST", "experiments/create", {}, "INVALID_PARAMETER_VALUE", 400, /name/);
    await expectError(
      "POST",
      "runs/update",
      { run_id: runId, status: "DONE" },
      "INVALID_PARAMETER_VALUE",
      400,
      /status/,
    );
    await expectError(
      "POST",
      "runs/search",
      { experiment_ids: [exp], max_results: 0 },
      "INVALID_PARAMETER_VALUE",
      400,
      /max_results/,
    );
    await expectError(
      "POST",
      "runs/search",
      { experiment_ids: [exp], max_results: 50001 },
      "INVALID_PARAMETER_VALUE",
      400,
      /max_results/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { key: "m", value: 1, timestamp: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /run_id/,
    );
    await expectError("GET", "experiments/get", undefined, "INVALID_PARAMETER_VALUE", 400, /experiment_id/);
  });

  it("unknown ids are RESOURCE_DOES_NOT_EXIST", async () => {
    const ghost = "0123456789abcdef0123456789abcdef";
    await expectError(
      "GET",
      `runs/get?run_id=${ghost}`,
      undefined,
      "RESOURCE_DOES_NOT_EXIST",
      404,
      /not found/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: ghost, key: "m", value: 1, timestamp: 1 },
      "RESOURCE_DOES_NOT_EXIST",
      404,
    );
    await expectError(
      "POST",
      "runs/log-batch",
      { run_id: ghost, params: [{ key: "a", value: "b" }] },
      "RESOURCE_DOES_NOT_EXIST",
      404,
    );
    await expectError(
      "GET",
      "experiments/get?experiment_id=424242",
      undefined,
      "RESOURCE_DOES_NOT_EXIST",
      404,
    );
    await expectError("POST", "runs/create", { experiment_id: "424242" }, "RESOURCE_DOES_NOT_EXIST", 404);
    await expectError(
      "GET",
      `metrics/get-history?run_id=${ghost}&metric_key=m`,
      undefined,
      "RESOURCE_DOES_NOT_EXIST",
      404,
    );
    await expectError(
      "POST",
      "experiments/delete",
      { experiment_id: "424242" },
      "RESOURCE_DOES_NOT_EXIST",
      404,
    );
  });

  it("invalid filters and page tokens are INVALID_PARAMETER_VALUE", async () => {
    for (const filter of [
      "metrics.m >",
      "params.x > '1'",
      "bogus.x = '1'",
      "metrics.a = 1 OR metrics.b = 2",
    ]) {
      await expectError(
        "POST",
        "runs/search",
        { experiment_ids: [exp], filter },
        "INVALID_PARAMETER_VALUE",
        400,
        /filter|comparator/i,
      );
    }
    await expectError(
      "POST",
      "runs/search",
      { experiment_ids: [exp], order_by: ["metrics.m UP"] },
      "INVALID_PARAMETER_VALUE",
      400,
    );
    await expectError(
      "POST",
      "runs/search",
      { experiment_ids: [exp], page_token: "garbage!" },
      "INVALID_PARAMETER_VALUE",
      400,
      /page token/,
    );
    await expectError(
      "POST",
      "experiments/search",
      { filter: "metrics.x > 1" },
      "INVALID_PARAMETER_VALUE",
      400,
    );
  });
});

describe("limits and whole-or-nothing batches", () => {
  it("oversize batches are refused and nothing of them is written", async () => {
    const before = await getRun();
    const metrics = Array.from({ length: 1001 }, (_, i) => ({
      key: `m${i}`,
      value: i,
      timestamp: 1,
      step: 0,
    }));
    await expectError(
      "POST",
      "runs/log-batch",
      { run_id: runId, metrics },
      "INVALID_PARAMETER_VALUE",
      400,
      /1000 metrics/,
    );
    const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "v" }));
    await expectError(
      "POST",
      "runs/log-batch",
      { run_id: runId, params },
      "INVALID_PARAMETER_VALUE",
      400,
      /100 params/,
    );
    const tags = Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: "v" }));
    await expectError(
      "POST",
      "runs/log-batch",
      { run_id: runId, tags },
      "INVALID_PARAMETER_VALUE",
      400,
      /100 tags/,
    );
    expect(await getRun()).toEqual(before);
  });

  it("key and value length limits", async () => {
    const before = await getRun();
    const k251 = "k".repeat(251);
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: k251, value: 1, timestamp: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /250/,
    );
    await expectError(
      "POST",
      "runs/log-parameter",
      { run_id: runId, key: "p", value: "v".repeat(6001) },
      "INVALID_PARAMETER_VALUE",
      400,
      /6000/,
    );
    await expectError(
      "POST",
      "runs/set-tag",
      { run_id: runId, key: "t", value: "v".repeat(8001) },
      "INVALID_PARAMETER_VALUE",
      400,
      /8000/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: "a/../b", value: 1, timestamp: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /name/,
    );
    await expectError(
      "POST",
      "runs/log-metric",
      { run_id: runId, key: "bad*char", value: 1, timestamp: 1 },
      "INVALID_PARAMETER_VALUE",
      400,
      /name/,
    );
    // At the limits exactly, it is accepted.
    await p.call("POST", `${API}/runs/log-parameter`, {
      run_id: runId,
      key: "k".repeat(250),
      value: "v".repeat(6000),
    });
    const after = await getRun();
    expect(after.data.params).toHaveLength(before.data.params.length + 1);
  });

  it("a batch with one bad entry, or a param conflict, writes nothing", async () => {
    const before = await getRun();
    await expectError(
      "POST",
      "runs/log-batch",
      {
        run_id: runId,
        metrics: [{ key: "fine", value: 1, timestamp: 1, step: 0 }],
        params: [{ key: "new", value: "x" }],
        tags: [{ key: "bad tag!", value: "x" }],
      },
      "INVALID_PARAMETER_VALUE",
      400,
    );
    await expectError(
      "POST",
      "runs/log-batch",
      {
        run_id: runId,
        metrics: [{ key: "fine", value: 1, timestamp: 1, step: 0 }],
        params: [{ key: "fixed", value: "2" }],
      },
      "INVALID_PARAMETER_VALUE",
      400,
      /fixed/,
    );
    expect(await getRun()).toEqual(before);
    const hist = await p.call("GET", `${API}/metrics/get-history?run_id=${runId}&metric_key=fine`);
    expect(hist.json).toEqual({});
  });

  it("a run record too large for one item is refused with a clear message", async () => {
    const big = (await p.call("POST", `${API}/runs/create`, { experiment_id: exp })).json.run.info.run_id;
    let last: { status: number; json: { message: string } } | undefined;
    for (let i = 0; i < 10; i++) {
      const tags = Array.from({ length: 100 }, (_, j) => ({ key: `t${i}_${j}`, value: "x".repeat(8000) }));
      last = await p.call("POST", `${API}/runs/log-batch`, { run_id: big, tags });
      if (last.status !== 200) break;
    }
    expect(last?.status).toBe(400);
    expect(last?.json.message).toMatch(/limit of one run record/);
  });
});

describe("property: random request bodies never cause a 500 or a partial write", () => {
  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const metric = fc.record(
    {
      key: fc.oneof(fc.string({ maxLength: 8 }), jsonValue),
      value: fc.oneof(fc.double(), fc.constantFrom("NaN", "Infinity", "x"), jsonValue),
      timestamp: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), jsonValue),
      step: fc.oneof(fc.integer(), jsonValue),
    },
    { requiredKeys: [] },
  );
  const kv = fc.record(
    { key: fc.oneof(fc.string({ maxLength: 8 }), jsonValue), value: fc.oneof(fc.string(), jsonValue) },
    { requiredKeys: [] },
  );

  it("log-batch", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            metrics: fc.array(metric, { maxLength: 4 }),
            params: fc.array(kv, { maxLength: 3 }),
            tags: fc.array(kv, { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const before = await getRun();
          const r = await p.call("POST", `${API}/runs/log-batch`, { run_id: runId, ...body });
          expect(r.status, r.text).not.toBe(500);
          if (r.status !== 200) {
            expect(r.json.error_code).toMatch(/INVALID_PARAMETER_VALUE|MALFORMED_REQUEST/);
            expect(await getRun()).toEqual(before);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("every endpoint with arbitrary JSON", async () => {
    const paths = [
      "experiments/create",
      "experiments/search",
      "experiments/update",
      "experiments/set-experiment-tag",
      "runs/create",
      "runs/update",
      "runs/log-metric",
      "runs/log-inputs",
      "runs/log-model",
      "runs/search",
      "metrics/get-history",
      "artifacts/list",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.dictionary(
          fc.constantFrom(
            "run_id",
            "experiment_id",
            "name",
            "key",
            "value",
            "filter",
            "max_results",
            "timestamp",
            "datasets",
            "model_json",
            "status",
          ),
          jsonValue,
        ),
        async (path, body) => {
          const r = await p.call("POST", `${API}/${path}`, body);
          expect(r.status, `${path} ${JSON.stringify(body)} -> ${r.text}`).toBeLessThan(500);
          if (r.status >= 400) expect(typeof r.json.message).toBe("string");
        },
      ),
      { numRuns: 150 },
    );
  });
});
